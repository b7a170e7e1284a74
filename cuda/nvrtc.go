package cuda

import (
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// nvrtcAPI is the part of NVRTC (the run-time CUDA C++ compiler) ctrecon
// uses: compile one source to a CUBIN for the device's own architecture.
type nvrtcAPI struct {
	create     func(prog *uintptr, src, name string, nHeaders int32, headers, includeNames unsafe.Pointer) int32
	compile    func(prog uintptr, nOpts int32, opts unsafe.Pointer) int32
	cubinSize  func(prog uintptr, n *uintptr) int32
	cubin      func(prog uintptr, dst unsafe.Pointer) int32
	logSize    func(prog uintptr, n *uintptr) int32
	log        func(prog uintptr, dst unsafe.Pointer) int32
	destroy    func(prog *uintptr) int32
	errString  func(res int32) *byte
	libraryTag string
}

// nvrtcNames are tried in order: the CUDA 13 and 12 sonames, then the
// unversioned development link.
var nvrtcNames = []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"}

func loadNVRTC() (*nvrtcAPI, error) {
	var h uintptr
	var err error
	var lib string
	for _, name := range nvrtcNames {
		if h, err = purego.Dlopen(libPath(name), purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
			lib = name
			break
		}
	}
	if lib == "" {
		return nil, fmt.Errorf("%w: cannot load NVRTC (tried %v): %v", ErrNoDevice, nvrtcNames, err)
	}
	n := &nvrtcAPI{libraryTag: lib}
	for _, b := range []struct {
		fn   any
		name string
	}{
		{&n.create, "nvrtcCreateProgram"}, {&n.compile, "nvrtcCompileProgram"},
		{&n.cubinSize, "nvrtcGetCUBINSize"}, {&n.cubin, "nvrtcGetCUBIN"},
		{&n.logSize, "nvrtcGetProgramLogSize"}, {&n.log, "nvrtcGetProgramLog"},
		{&n.destroy, "nvrtcDestroyProgram"}, {&n.errString, "nvrtcGetErrorString"},
	} {
		if _, err := purego.Dlsym(h, b.name); err != nil {
			return nil, fmt.Errorf("%w: %s has no %s", ErrNoDevice, lib, b.name)
		}
		purego.RegisterLibFunc(b.fn, h, b.name)
	}
	return n, nil
}

// cstrings returns NUL-terminated copies of ss and an array of pointers to
// them (argv style). The caller keeps both alive across the C call.
func cstrings(ss []string) ([][]byte, []*byte) {
	bufs := make([][]byte, len(ss))
	ptrs := make([]*byte, len(ss))
	for i, s := range ss {
		bufs[i] = append([]byte(s), 0)
		ptrs[i] = &bufs[i][0]
	}
	return bufs, ptrs
}

// compileCUBIN compiles src for sm_<major><minor> with the given options.
func (n *nvrtcAPI) compileCUBIN(src, name string, major, minor int, opts []string) ([]byte, error) {
	var prog uintptr
	if r := n.create(&prog, src, name, 0, nil, nil); r != 0 {
		return nil, fmt.Errorf("%w: nvrtcCreateProgram: %s", ErrDevice, goString(n.errString(r)))
	}
	defer n.destroy(&prog)
	all := append([]string{fmt.Sprintf("--gpu-architecture=sm_%d%d", major, minor)}, opts...)
	bufs, ptrs := cstrings(all)
	r := n.compile(prog, int32(len(ptrs)), unsafe.Pointer(&ptrs[0]))
	keep(bufs, ptrs)
	if r != 0 {
		var sz uintptr
		msg := ""
		if n.logSize(prog, &sz) == 0 && sz > 1 {
			b := make([]byte, sz)
			n.log(prog, unsafe.Pointer(&b[0]))
			msg = string(b[:sz-1])
		}
		return nil, fmt.Errorf("%w: NVRTC (%s) could not compile %s for sm_%d%d: %s\n%s", ErrDevice, n.libraryTag, name, major, minor, goString(n.errString(r)), msg)
	}
	var sz uintptr
	if r := n.cubinSize(prog, &sz); r != 0 || sz == 0 {
		return nil, fmt.Errorf("%w: nvrtcGetCUBINSize: %s", ErrDevice, goString(n.errString(r)))
	}
	out := make([]byte, sz)
	if r := n.cubin(prog, unsafe.Pointer(&out[0])); r != 0 {
		return nil, fmt.Errorf("%w: nvrtcGetCUBIN: %s", ErrDevice, goString(n.errString(r)))
	}
	return out, nil
}

// keep holds values live until here (pointers handed to C as uintptr-like
// arguments are invisible to the garbage collector).
//
//go:noinline
func keep(...any) {}
