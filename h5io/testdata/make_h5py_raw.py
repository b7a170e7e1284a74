# Regenerates h5py_raw.h5: a raw DXchange scan as a beamline writes it with
# h5py: uint16 counts (some above 32767, some at or below the dark field),
# 2 flat fields and 1 dark field, no ctrecon attributes.
# Run with: /usr/bin/python3 make_h5py_raw.py
import h5py
import numpy as np

angles, slices, det = 3, 1, 4
theta = np.linspace(0.0, 180.0, angles, endpoint=False)
white = np.array([[[60000, 60000, 50000, 40000]], [[60200, 59800, 50000, 40000]]], dtype=np.uint16)
dark = np.array([[[200, 200, 100, 100]]], dtype=np.uint16)
data = np.array([[[60100, 30100, 25050, 100]],
                 [[40000, 20000, 5000, 50]],
                 [[200, 1000, 100, 39000]]], dtype=np.uint16)
with h5py.File("h5py_raw.h5", "w") as f:
    g = f.create_group("exchange")
    g.create_dataset("data", data=data)
    g.create_dataset("data_white", data=white)
    g.create_dataset("data_dark", data=dark)
    g.create_dataset("theta", data=theta)
