// Package phantoms makes the built-in test objects of ctrecon: the modified
// Shepp–Logan head, random ellipses and bayes_dip's random rectangles (three
// rectangles sharing one orientation, the data set on which adaptive angle
// choice is expected to pay).
//
// A Phantom is a value: a list of constant-valued ellipses and rectangles,
// summed where they overlap and cropped to the image square. Coordinates
// follow DESIGN.md §2 (x right, y up) in units of N/2 pixels, so one phantom
// serves every image size: [−1, 1]² is the N×N image and the unit disc its
// inscribed disc. From it come
//
//   - Image(n, supersample): pixel averages over a supersample² grid per
//     pixel, the ground truth;
//   - Sinogram(g): the exact line integrals along each ray through a bin
//     centre (closed-form chords of ellipses and rectangles), point samples;
//   - BinSinogram(g): the exact mean over each bin's width, what a detector
//     of contiguous bins measures.
//
// Both sinograms are independent of radon's discretisation, so they are the
// reference against which the projector and the reconstructions are tested.
//
// phantoms imports radon only for its Geometry type, so that the rays are
// those of DESIGN's contract by construction rather than by a second copy of
// the bin formula; radon's own tests import phantoms from the external test
// package, so there is no cycle.
//
// Random phantoms take a seeded *rand.Rand: the same seed gives the same
// phantom. All phantoms have values in [0, 1].
package phantoms
