#!/usr/bin/python3
"""scikit-image's FBP (iradon) on the held-out scans of ctrecon's FBP quality
harness (radon/fbpquality_export_test.go), as a peer for docs/RESULTS.md:

    FBPQ_EXPORT=/tmp/fbpq go test ./radon -run TestFBPQualityExport
    /usr/bin/python3 scripts/fbp_peer.py /tmp/fbpq

Prints the mean PSNR (range of the ground truth, as ctrecon's metrics.PSNR)
over each case's scans for every iradon filter, with linear and cubic
interpolation. Needs numpy and scikit-image (apt-get install python3-skimage).
"""
import collections
import os
import sys

import numpy as np
from skimage.transform import iradon


def psnr(x, ref):
    r = float(ref.max() - ref.min())
    return 10 * np.log10(r * r / np.mean((x.astype(np.float64) - ref) ** 2))


def main(folder):
    cases = collections.OrderedDict()
    with open(os.path.join(folder, "index.txt")) as f:
        for line in f:
            case, stem, n, na, nd = line.rstrip("\n").split("\t")
            cases.setdefault(case, []).append((stem, int(n), int(na), int(nd)))
    for case, scans in cases.items():
        scores = collections.defaultdict(list)
        for stem, n, na, nd in scans:
            sino = np.fromfile(os.path.join(folder, stem + "_sino.f32"), "<f4").reshape(na, nd)
            truth = np.fromfile(os.path.join(folder, stem + "_truth.f32"), "<f4").reshape(n, n)
            theta = np.arange(na) * 180.0 / na  # radon.EqualAngles
            for interp in ("linear", "cubic"):
                for filt in ("ramp", "shepp-logan", "cosine", "hamming", "hann"):
                    rec = iradon(sino.T.astype(np.float64), theta=theta, output_size=n,
                                 filter_name=filt, interpolation=interp, circle=False)
                    scores[(filt, interp)].append(psnr(rec, truth))
        print("## %s (%d scans)" % (case, len(scans)))
        best = max(scores, key=lambda k: np.mean(scores[k]))
        for k, v in scores.items():
            mark = "  <- best" if k == best else ""
            print("| skimage iradon %-11s %-6s | %6.2f |%s" % (k[0], k[1], np.mean(v), mark))


if __name__ == "__main__":
    main(sys.argv[1])
