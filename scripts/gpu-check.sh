#!/bin/bash
# The GPU checks of issue 14 as one short script, for a machine with an
# NVIDIA GPU and no Go (the device tool's machine). On the development
# machine first:
#
#   make gpu-check-build      # build/cuda.test, build/ctrecon, build/lib/
#
# then, on the GPU machine, from the repository root (carry build/):
#
#   OUT=out bash scripts/gpu-check.sh
#
# It writes nvidia-smi.txt, tests.txt (every cuda test, required to find
# the GPU), bench.txt (512², 720 angles, 725 bins: batch 128 and single
# slice, and the CPU projector on the same geometry for the ratio) and cli.txt (the CLI on a phantom with --device gpu against cpu)
# under $OUT, and summary.txt with each step's exit status. Each step has
# its own time limit, so one hang does not take the others with it.
set -u
out=${OUT:-gpu-check-out}
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
# NVRTC: from the CUDA toolkit, or from the pip wheel PyTorch brings.
wheel=$(python3 -c 'import os, nvidia.cuda_nvrtc as m; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null)
nvrtc=none
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib $wheel; do
	if ls "$d"/libnvrtc.so* > /dev/null 2>&1; then
		export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
		nvrtc=$d
		break
	fi
done
{ echo "NVRTC from $nvrtc"; ls "$nvrtc" 2>&1 | grep nvrtc; } > "$out/env.txt"

# The fake-driver and host-kernel tests ran on the development machine.
CTRECON_REQUIRE_GPU=1 timeout 150 build/cuda.test -test.v -test.count 1 -test.run 'GPU|Shape|OpenWithout' > "$out/tests.txt" 2>&1
echo "tests: exit $?" >> "$out/summary.txt"
timeout 100 build/cuda.test -test.run '^$' -test.bench GPU -test.benchtime 20x > "$out/bench.txt" 2>&1
echo "bench: exit $?" >> "$out/summary.txt"
timeout 60 build/cuda.test -test.run '^$' -test.bench CPU -test.benchtime 2x >> "$out/bench.txt" 2>&1
echo "bench cpu: exit $?" >> "$out/summary.txt"

if [ -x build/ctrecon ] && tar -C build -xJf build/lib.tar.xz; then
	export LD_LIBRARY_PATH=$PWD/build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	t=$(mktemp -d)
	c="timeout 40 build/ctrecon"
	(
		set -e
		$c -v phantom --size 128 -o "$t/p.h5"
		$c -v simulate -i "$t/p.h5" --angles 180 -o "$t/s.h5"
		for dev in cpu gpu; do
			echo "== $dev tv"
			time $c -v --device $dev tv -i "$t/s.h5" -o "$t/tv-$dev.h5"
			echo "== $dev sirt"
			time $c -v --device $dev sirt -i "$t/s.h5" -o "$t/sirt-$dev.h5"
		done
		$c evaluate -i "$t/tv-gpu.h5" --truth "$t/p.h5"
		$c evaluate -i "$t/tv-cpu.h5" --truth "$t/p.h5"
		$c evaluate -i "$t/sirt-gpu.h5" --truth "$t/p.h5"
		$c evaluate -i "$t/sirt-cpu.h5" --truth "$t/p.h5"
	) > "$out/cli.txt" 2>&1
	echo "cli: exit $?" >> "$out/summary.txt"
fi
cat "$out/summary.txt"
