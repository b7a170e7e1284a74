# Regenerates h5py_scan.h5: a DXchange-style scan written by h5py, not by
# ctrecon, with float64 big-endian data, theta in degrees and no ctrecon
# attributes. Run with: /usr/bin/python3 make_h5py_scan.py
import h5py
import numpy as np

angles, slices, det = 6, 2, 9
theta = np.linspace(0.0, 180.0, angles, endpoint=False)
# value = angle index + 10*slice + 100*bin, so the reader's layout is checkable
a, s, b = np.meshgrid(np.arange(angles), np.arange(slices), np.arange(det), indexing="ij")
data = (a + 10 * s + 100 * b).astype(">f8")
with h5py.File("h5py_scan.h5", "w") as f:
    g = f.create_group("exchange")
    g.create_dataset("data", data=data, chunks=(angles, 1, det), compression="gzip")
    g.create_dataset("theta", data=theta.astype("<f4"))
    f["exchange/data"].attrs["det_spacing"] = np.float32(1.5)
