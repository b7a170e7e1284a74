# ctrecon: `make demo` and `make test` are all a newcomer needs (see README.md).
# Both install what is missing first (scripts/deps.sh).

export PATH := $(PATH):/usr/local/go/bin
GO      ?= go
BIN     := bin/ctrecon
DEMODIR ?= demo-out

.PHONY: all deps build demo test bench check-long lint vet fmt clean gpu-check-build

all: build

deps:
	@scripts/deps.sh

build: deps
	$(GO) build -o $(BIN) ./cmd/ctrecon

# The main job on a built-in phantom: simulate, FBP, DIP, uncertainty, next
# angles; HDF5 files and PNG figures in $(DEMODIR).
demo: build
	./$(BIN) demo -o $(DEMODIR)

# gofmt, go vet and the test suite (long checks skip under -short; see
# check-long). Real data is fetched first (cached after the first time).
test: deps data
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -short -timeout 15m ./...

# Everything, including the slow accuracy studies skipped under -short.
check-long: deps data
	$(GO) test -timeout 90m ./...

# staticcheck (fetched through the Go module proxy, pinned; not part of
# make test): unused code, suspicious constructs, simplifications. Clean on
# 2026-12-04.
lint: deps
	CGO_ENABLED=1 $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Every hot-path benchmark, a few iterations each (-short skips the
# minutes-long 128² matrix-free one; docs/BENCHMARKS.md has the full
# commands behind each table).
bench: deps
	$(GO) test -short -run '^$$' -bench . -benchtime 5x -timeout 60m ./...

# What a GPU machine without Go needs for scripts/gpu-check.sh, in build/
# (about 36 MB, under the device tool's 64 MiB carry): the cuda package's
# test binary (no cgo) and the CLI with the shared libraries ldd lists for
# it (HDF5, OpenBLAS and theirs), packed as lib.tar.xz.
gpu-check-build: build
	rm -rf build && mkdir -p build/lib
	CGO_ENABLED=0 $(GO) test -c -o build/cuda.test ./cuda
	cp $(BIN) build/ctrecon
	ldd build/ctrecon | awk '/=> \// {print $$3}' | grep -v -E 'lib(c|m|dl|pthread|rt)\.so' | xargs -I{} cp -L {} build/lib/
	tar -C build -cJf build/lib.tar.xz lib && rm -rf build/lib

clean:
	rm -rf bin build $(DEMODIR)

include mk/data.mk
