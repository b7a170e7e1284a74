package phantoms

import (
	"reflect"
	"testing"
)

// TestBuiltinDrawsAreIndependent: draw k of a seed is the same phantom
// whichever draws came before it, differs from draw k+1, and an unknown
// kind is an error.
func TestBuiltinDrawsAreIndependent(t *testing.T) {
	for _, kind := range []string{"ellipses", "rectangles"} {
		a, err := Builtin(kind, 7, 3)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 3; k++ {
			if _, err := Builtin(kind, 7, k); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := Builtin(kind, 7, 3)
		c, _ := Builtin(kind, 7, 4)
		if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
			t.Errorf("%s: draw 3 not reproducible, or equal to draw 4", kind)
		}
	}
	if _, err := Builtin("cube", 1, 0); err == nil {
		t.Error("unknown kind accepted")
	}
}
