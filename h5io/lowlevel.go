package h5io

// The gonum hdf5 binding reads a dataset with the file's own datatype as the
// memory type, so a float64 or big-endian dataset written by h5py would be
// copied byte for byte into a []float32. These few calls ask HDF5 to convert
// to the native type we want instead, and list attributes for `info`.

// #cgo pkg-config: hdf5
// #include <stdlib.h>
// #include <string.h>
// #include "hdf5.h"
//
// static void silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
// static herr_t readF32(hid_t ds, float *buf) {
//   return H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
// }
// static herr_t readF64(hid_t ds, double *buf) {
//   return H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
// }
// static herr_t readF32Slab(hid_t ds, int rank, hsize_t *off, hsize_t *cnt, float *buf) {
//   hid_t fs = H5Dget_space(ds);
//   if (fs < 0) return -1;
//   herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
//   if (rc < 0) { H5Sclose(fs); return rc; }
//   hid_t ms = H5Screate_simple(rank, cnt, NULL);
//   rc = H5Dread(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf);
//   H5Sclose(ms); H5Sclose(fs);
//   return rc;
// }
// static int dsetClass(hid_t ds) {
//   hid_t t = H5Dget_type(ds);
//   if (t < 0) return -1;
//   int c = H5Tget_class(t);
//   H5Tclose(t);
//   return c;
// }
// static int dsetUnsigned(hid_t ds) {
//   hid_t t = H5Dget_type(ds);
//   if (t < 0) return 0;
//   int u = H5Tget_class(t) == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_NONE;
//   H5Tclose(t);
//   return u;
// }
// static int dsetTypeSize(hid_t ds) {
//   hid_t t = H5Dget_type(ds);
//   if (t < 0) return -1;
//   int s = (int)H5Tget_size(t);
//   H5Tclose(t);
//   return s;
// }
// static int numAttrs(hid_t obj) {
//   H5O_info_t info;
//   if (H5Oget_info(obj, &info) < 0) return -1;
//   return (int)info.num_attrs;
// }
// static hid_t openAttrIdx(hid_t obj, int i) {
//   return H5Aopen_by_idx(obj, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, (hsize_t)i, H5P_DEFAULT, H5P_DEFAULT);
// }
// static hid_t openAttrIdxName(hid_t obj, int i) {
//   return H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, H5P_DEFAULT, H5P_DEFAULT);
// }
// static int attrClass(hid_t a) {
//   hid_t t = H5Aget_type(a);
//   if (t < 0) return -1;
//   int c = H5Tget_class(t);
//   H5Tclose(t);
//   return c;
// }
// static int attrNPoints(hid_t a) {
//   hid_t s = H5Aget_space(a);
//   if (s < 0) return -1;
//   int n = (int)H5Sget_simple_extent_npoints(s);
//   H5Sclose(s);
//   return n;
// }
// static herr_t attrReadF64(hid_t a, double *buf) { return H5Aread(a, H5T_NATIVE_DOUBLE, buf); }
// // attrReadString returns a malloc'd copy of a fixed- or variable-length string attribute.
// static char *attrReadString(hid_t a) {
//   hid_t ft = H5Aget_type(a);
//   if (ft < 0) return NULL;
//   char *out = NULL;
//   if (H5Tis_variable_str(ft) > 0) {
//     hid_t mt = H5Tcopy(H5T_C_S1); H5Tset_size(mt, H5T_VARIABLE);
//     char *s = NULL;
//     if (H5Aread(a, mt, &s) >= 0 && s != NULL) { out = strdup(s); H5free_memory(s); }
//     H5Tclose(mt);
//   } else {
//     size_t n = H5Tget_size(ft);
//     hid_t mt = H5Tcopy(H5T_C_S1); H5Tset_size(mt, n + 1);
//     out = calloc(n + 2, 1);
//     if (H5Aread(a, mt, out) < 0) { free(out); out = NULL; }
//     H5Tclose(mt);
//   }
//   H5Tclose(ft);
//   return out;
// }
// static hid_t openAttr(hid_t obj, const char *name) {
//   if (H5Aexists(obj, name) <= 0) return -1;
//   return H5Aopen(obj, name, H5P_DEFAULT);
// }
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// quietly runs f on one OS thread with HDF5's automatic error printing off.
// Debian's libhdf5 keeps that setting per thread, and Go moves goroutines
// between threads, so the binding's one-time silencing does not reach every
// call: without this a failed open prints an HDF5 error stack on stderr
// beside our own one-line message.
func quietly(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.silence()
	f()
}

// HDF5 type classes (H5T_class_t) we distinguish.
const (
	classInteger = 0
	classFloat   = 1
	classString  = 3
)

func h5readF32(id int64, dst []float32) error {
	if len(dst) == 0 {
		return nil
	}
	var rc C.herr_t
	quietly(func() { rc = C.readF32(C.hid_t(id), (*C.float)(unsafe.Pointer(&dst[0]))) })
	if rc < 0 {
		return fmt.Errorf("HDF5 read failed (file truncated or corrupt?)")
	}
	return nil
}

func h5readF64(id int64, dst []float64) error {
	if len(dst) == 0 {
		return nil
	}
	var rc C.herr_t
	quietly(func() { rc = C.readF64(C.hid_t(id), (*C.double)(unsafe.Pointer(&dst[0]))) })
	if rc < 0 {
		return fmt.Errorf("HDF5 read failed (file truncated or corrupt?)")
	}
	return nil
}

func h5readF32Slab(id int64, off, cnt []int, dst []float32) error {
	if len(dst) == 0 {
		return nil
	}
	o := make([]C.hsize_t, len(off))
	c := make([]C.hsize_t, len(cnt))
	for i := range off {
		o[i], c[i] = C.hsize_t(off[i]), C.hsize_t(cnt[i])
	}
	var rc C.herr_t
	quietly(func() {
		rc = C.readF32Slab(C.hid_t(id), C.int(len(off)), &o[0], &c[0], (*C.float)(unsafe.Pointer(&dst[0])))
	})
	if rc < 0 {
		return fmt.Errorf("HDF5 read failed (file truncated or corrupt?)")
	}
	return nil
}

// h5dsetUnsigned reports whether a dataset holds unsigned integers.
func h5dsetUnsigned(id int64) bool { return C.dsetUnsigned(C.hid_t(id)) != 0 }

func h5dsetClass(id int64) (class, size int) {
	return int(C.dsetClass(C.hid_t(id))), int(C.dsetTypeSize(C.hid_t(id)))
}

// attrValue is one attribute as read back: numbers as float64 (all of them,
// for arrays), strings as string.
type attrValue struct {
	Name   string
	Nums   []float64
	Str    string
	IsText bool
}

func h5attrs(obj int64) ([]attrValue, error) {
	n := int(C.numAttrs(C.hid_t(obj)))
	if n < 0 {
		return nil, fmt.Errorf("cannot list attributes")
	}
	out := make([]attrValue, 0, n)
	for i := 0; i < n; i++ {
		a := C.openAttrIdx(C.hid_t(obj), C.int(i))
		if a < 0 { // files without creation-order tracking: fall back to name order
			a = C.openAttrIdxName(C.hid_t(obj), C.int(i))
		}
		if a < 0 {
			return nil, fmt.Errorf("cannot open attribute %d", i)
		}
		v, err := readAttr(a)
		C.H5Aclose(a)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func readAttr(a C.hid_t) (attrValue, error) {
	var v attrValue
	nameLen := C.H5Aget_name(a, 0, nil)
	if nameLen >= 0 {
		buf := make([]byte, int(nameLen)+1)
		C.H5Aget_name(a, C.size_t(len(buf)), (*C.char)(unsafe.Pointer(&buf[0])))
		v.Name = string(buf[:nameLen])
	}
	switch C.attrClass(a) {
	case classInteger, classFloat:
		n := int(C.attrNPoints(a))
		if n < 1 {
			return v, nil
		}
		v.Nums = make([]float64, n)
		if C.attrReadF64(a, (*C.double)(unsafe.Pointer(&v.Nums[0]))) < 0 {
			return v, fmt.Errorf("cannot read attribute %q", v.Name)
		}
	case classString:
		s := C.attrReadString(a)
		if s == nil {
			return v, fmt.Errorf("cannot read string attribute %q", v.Name)
		}
		v.Str, v.IsText = C.GoString(s), true
		C.free(unsafe.Pointer(s))
	default:
		v.Str, v.IsText = "(unsupported type)", true
	}
	return v, nil
}

// h5attr reads one attribute by name; ok is false when it does not exist.
func h5attr(obj int64, name string) (attrValue, bool, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	a := C.openAttr(C.hid_t(obj), cn)
	if a < 0 {
		return attrValue{}, false, nil
	}
	defer C.H5Aclose(a)
	v, err := readAttr(a)
	return v, err == nil, err
}
