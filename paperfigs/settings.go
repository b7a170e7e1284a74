package paperfigs

import (
	"fmt"
	"strconv"
)

// Names are the figures in the order they are made.
var Names = []string{"recon", "uncertainty", "loglik", "patchll", "design", "volume"}

// Settings are the sizes and budgets of one preset; 0 for an iteration or
// step count means the subcommand's default.
type Settings struct {
	Name string
	// recon, uncertainty, patchll: the head-CT slice and Shepp–Logan
	Size, Angles, DIPIters, MLLSteps, Samples int
	PatchLL                                   string // patch sizes of patchll, comma-separated
	// loglik: ctrecon study on MNIST digits, StudyChunk images per run
	StudyImages, StudyChunk, StudySize, StudyDIPIters, StudyMLL, MCSamples int
	StudyAngles                                                            []int
	// design: rectangles phantoms
	DesignSize, DesignCount, DesignStart, DesignBudget, DesignDIPIters, DesignSamples int
	DesignStrategies, DesignEval, DesignSeeds                                         string
	// volume: head-CT slices a:b; VolTV is the DIP's TV weight ("" = dip's default)
	VolSlices, VolTV                string
	VolSize, VolAngles, VolDIPIters int
}

// Quick is the default preset: 32² images, capped DIP iterations and MLL
// steps, one image per point; minutes on 2 cores, numbers not to be quoted.
var Quick = Settings{
	Name: "quick", Size: 32, Angles: 20, DIPIters: 0, MLLSteps: 100, Samples: 128, PatchLL: "1,2,10",
	StudyImages: 1, StudyChunk: 1, StudySize: 28, StudyDIPIters: 500, StudyMLL: 50, MCSamples: 16, StudyAngles: []int{5, 10, 20, 30},
	DesignSize: 32, DesignCount: 1, DesignStart: 5, DesignBudget: 15, DesignDIPIters: 300, DesignSamples: 64,
	DesignStrategies: "eig,equal,random", DesignEval: "5,10,15", DesignSeeds: "0",
	VolSlices: "51:57", VolSize: 32, VolAngles: 20, VolDIPIters: 0,
}

// Full is docs/RESULTS.md's settings: hours, resumable.
var Full = Settings{
	Name: "full", Size: 128, Angles: 30, Samples: 256, MLLSteps: 1000, PatchLL: "1,2,10",
	// One digit per study run (seeds follow the draw, so the numbers are
	// those of one 20-image run): an interrupted session loses at most one
	// digit's run of about 3 minutes, not five.
	StudyImages: 20, StudyChunk: 1, StudySize: 28, StudyMLL: 1000, MCSamples: 64, StudyAngles: []int{5, 10, 20, 30},
	DesignSize: 64, DesignCount: 20, DesignStart: 5, DesignBudget: 40, DesignSamples: 256,
	DesignStrategies: "eig,var,equal,random,golden,iso,matern,matern-radial", DesignEval: "10,20,30,40", DesignSeeds: "0,1",
	// γ = 5e-4: at 128² the default weight keeps every head-CT slice at the
	// 3000-iteration cap (about 10 min each) and below this one's PSNR, and the
	// warm start saves nothing (docs/RESULTS.md, "Volumes").
	VolSlices: "0:108", VolSize: 128, VolAngles: 30, VolTV: "0.0005",
}

// line is the caption's sentence on the settings that figure name used.
func (s Settings) line(name string) string {
	it := func(v int) string {
		if v == 0 {
			return "default"
		}
		return strconv.Itoa(v)
	}
	switch name {
	case "recon", "uncertainty", "patchll":
		return fmt.Sprintf("settings: %d² images, %d angles, 5%% noise, DIP iterations %s, MLL steps %s, %d posterior samples.",
			s.Size, s.Angles, it(s.DIPIters), it(s.MLLSteps), s.Samples)
	case "loglik":
		return fmt.Sprintf("settings: %d MNIST test digits at %d², angles %v, 5%% noise, DIP iterations %s, MLL steps %s, %d MC-dropout samples.",
			s.StudyImages, s.StudySize, s.StudyAngles, it(s.StudyDIPIters), it(s.StudyMLL), s.MCSamples)
	case "design":
		return fmt.Sprintf("settings: %d rectangles image(s) at %d², 200 candidate angles, start %d, budget %d, strategies %s, scored at %s, DIP seeds %s, DIP iterations %s, %d samples per choice.",
			s.DesignCount, s.DesignSize, s.DesignStart, s.DesignBudget, s.DesignStrategies, s.DesignEval, s.DesignSeeds, it(s.DesignDIPIters), s.DesignSamples)
	case "volume":
		tv := "default"
		if s.VolTV != "" {
			tv = s.VolTV
		}
		return fmt.Sprintf("settings: head-CT slices %s at %d², %d angles, 5%% noise, DIP iterations %s (warm start), DIP TV weight %s, MLL steps %s.",
			s.VolSlices, s.VolSize, s.VolAngles, it(s.VolDIPIters), tv, it(s.MLLSteps))
	}
	return ""
}
