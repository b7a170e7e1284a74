package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctrecon/ctrecon/datasets"
	"github.com/ctrecon/ctrecon/h5io"
	"github.com/ctrecon/ctrecon/phantoms"
)

// builtinPhantom is phantoms.Builtin with an unknown kind as a usage error.
func builtinPhantom(kind string, seed uint64, k int) (phantoms.Phantom, error) {
	ph, err := phantoms.Builtin(kind, seed, k)
	if err != nil {
		return ph, usageError{err}
	}
	return ph, nil
}

func isBuiltin(kind string) bool { return slices.Contains(phantoms.BuiltinKinds, kind) }

type phantomOpts struct {
	kind        string
	size        int
	count       int
	slice       int
	slices      string
	index       int
	supersample int
	out         string
}

func phantomCmd() *cobra.Command {
	var o phantomOpts
	cmd := &cobra.Command{
		Use:   "phantom",
		Short: "Make a test image: built-in phantoms, real CT slices or digits",
		Long: `Writes an image file (/image, float32 [slices][N][N], values about [0, 1]).

Kinds:
  shepp-logan   modified Shepp–Logan head phantom
  ellipses      random ellipses (seeded; --count draws one per slice)
  rectangles    three rectangles sharing one random orientation (seeded)
  ct            real head CT, 108 slices of 256² in HU (make data), converted to
                attenuation μ = μ_water(1 + HU/1000) and scaled to about [0, 1]
  dicom         pydicom's CT_small.dcm, a real 128² CT slice (make data)
  digit         an MNIST test digit, 28² (make data)

Built-in phantoms are drawn as pixel averages (--supersample² points per pixel).`,
		Example: `  ctrecon phantom --kind shepp-logan --size 128 -o sl.h5
  ctrecon phantom --kind rectangles --size 128 --count 10 --seed 3 -o rects.h5
  ctrecon phantom --kind ct --slice 54 -o head.h5
  ctrecon phantom --kind ct --slices 40:60 --size 128 -o head-vol.h5
  ctrecon phantom --kind digit --index 0 -o seven.h5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.out); err != nil {
				return err
			}
			img, attrs, err := makePhantom(o, cmd.Flags().Changed("size"))
			if err != nil {
				return err
			}
			if err := h5io.WriteImage(o.out, h5io.ImageFile{Image: img, Attrs: attrs}); err != nil {
				return err
			}
			logf("wrote %s: %s, %d slice(s) of %d×%d", o.out, o.kind, img.Slices, img.N, img.N)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kind, "kind", "shepp-logan", "shepp-logan, ellipses, rectangles, ct, dicom or digit")
	f.IntVar(&o.size, "size", 128, "image size N (N×N pixels); ct/dicom/digit are resized when given")
	f.IntVar(&o.count, "count", 1, "number of slices (independent random draws) for built-in kinds")
	f.IntVar(&o.slice, "slice", 54, "ct: slice number (0–107)")
	f.StringVar(&o.slices, "slices", "", "ct: a range of slices a:b (end excluded) for a volume")
	f.IntVar(&o.index, "index", 0, "digit: index in the MNIST test set (0–9999)")
	f.IntVar(&o.supersample, "supersample", 4, "built-in kinds: points per pixel side for partial-volume averaging")
	f.StringVarP(&o.out, "out", "o", "", "output image file (.h5)")
	return cmd
}

// makePhantom builds the image. sizeSet says whether --size was given
// (real data keeps its own size otherwise).
func makePhantom(o phantomOpts, sizeSet bool) (h5io.Volume, []h5io.Attr, error) {
	attrs := []h5io.Attr{{Name: "kind", Value: o.kind}}
	if o.size < 1 || o.size > 8192 {
		return h5io.Volume{}, nil, usagef("--size %d is outside 1–8192", o.size)
	}
	switch {
	case isBuiltin(o.kind):
		if o.count < 1 {
			return h5io.Volume{}, nil, usagef("--count must be ≥ 1")
		}
		if o.supersample < 1 {
			return h5io.Volume{}, nil, usagef("--supersample must be ≥ 1")
		}
		v := h5io.NewVolume(o.count, o.size)
		for k := 0; k < o.count; k++ {
			p, err := builtinPhantom(o.kind, g.seed, k)
			if err != nil {
				return v, nil, err
			}
			copy(v.Slice(k), p.Image(o.size, o.supersample))
		}
		attrs = append(attrs, h5io.Attr{Name: "seed", Value: int(g.seed)}, h5io.Attr{Name: "supersample", Value: o.supersample})
		return v, attrs, nil
	case o.kind == "ct":
		path, err := datasets.Locate(datasets.CraniumFile)
		if err != nil {
			return h5io.Volume{}, nil, err
		}
		from, to := o.slice, o.slice+1
		if o.slices != "" {
			if from, to, err = parseSlices(o.slices, 108); err != nil {
				return h5io.Volume{}, nil, err
			}
		} else if o.slice < 0 || o.slice >= 108 {
			return h5io.Volume{}, nil, usagef("--slice %d is outside 0–107", o.slice)
		}
		n := 0
		if sizeSet {
			n = o.size
		}
		dv, err := datasets.CraniumSlices(path, from, to, n)
		if err != nil {
			return h5io.Volume{}, nil, err
		}
		attrs = append(attrs, h5io.Attr{Name: "source", Value: "invesalius-examples Cranium.inv3 (GPL-2)"},
			h5io.Attr{Name: "first_slice", Value: from})
		return h5io.Volume{Slices: dv.Slices, N: dv.N, Data: dv.Data}, attrs, nil
	case o.kind == "dicom":
		path, err := datasets.Locate(datasets.DICOMFile)
		if err != nil {
			return h5io.Volume{}, nil, err
		}
		n := 0
		if sizeSet {
			n = o.size
		}
		dv, err := datasets.DICOMSlice(path, n)
		if err != nil {
			return h5io.Volume{}, nil, err
		}
		attrs = append(attrs, h5io.Attr{Name: "source", Value: "pydicom CT_small.dcm (MIT)"})
		return h5io.Volume{Slices: dv.Slices, N: dv.N, Data: dv.Data}, attrs, nil
	case o.kind == "digit":
		path, err := datasets.Locate(datasets.MNISTTestImages)
		if err != nil {
			return h5io.Volume{}, nil, err
		}
		img, label, err := datasets.MNISTImage(path, o.index)
		if err != nil {
			return h5io.Volume{}, nil, err
		}
		v := h5io.Volume{Slices: 1, N: 28, Data: img}
		if sizeSet && o.size != 28 {
			v = h5io.Volume{Slices: 1, N: o.size, Data: make([]float32, o.size*o.size)}
			datasets.Resize(v.Data, img, 28, o.size)
		}
		attrs = append(attrs, h5io.Attr{Name: "label", Value: label}, h5io.Attr{Name: "index", Value: o.index})
		return v, attrs, nil
	}
	return h5io.Volume{}, nil, usagef("unknown --kind %q (want %s, ct, dicom or digit)", o.kind, strings.Join(phantoms.BuiltinKinds, ", "))
}
