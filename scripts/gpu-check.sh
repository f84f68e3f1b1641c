#!/usr/bin/env bash
# The one command that verifies the CUDA engine on a GPU machine: the native CUDA test suite
# (every op CUDA-vs-CPU, whole-model logits in every weight type through the kernels and with the
# model resident on the device, LoRA and full-parameter gradients, a 20-step SFT loss curve, a PPO
# step's stats, the --device choice through the C API), then the
# native benchmark (7B-shaped Q4_K written to a ~4 GB temporary GGUF in $TMPDIR and loaded on the
# GPU: prefill 512, decode batch 1 and 8 through the session, an sft LoRA step through the trainer,
# beside the measured HBM read bandwidth and BF16 GEMM rate). No JVM, no Maven, no network: it runs two
# prebuilt executables. Figures and logs go to $OUT (default ./gpu-check-out):
#   gpu-check.json  test counts, exit codes and the benchmark's figures
#   bench.json      the benchmark's figures alone;  tests.log, bench.log  full output
# Exit status: 0 all passed, 1 a test or the benchmark failed, 3 no GPU on this machine.
#
# Build the executables HERE (needs nvcc and cmake, not a GPU), then run on the device machine:
#   scripts/gpu-check.sh --build            # -> gpu-bin/engine_tests, gpu-bin/gpu_bench (~15 MB)
#   device run: command "scripts/gpu-check.sh", carry ["gpu-bin"], timeout_s 540
# --build compiles for SL4J_CUDA_ARCHS (default "90": H100/H200; "80;90" adds the A100). If
# gpu-bin/ is absent on a GPU machine that has nvcc, the script builds it there first.
# Time budget: tests up to 200 s, benchmark up to 240 s, so the whole run stays under 8 minutes.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/gpu-bin"

build() {
  local dir="$root/build/gpu-check"
  # libstdc++ and libgcc linked in (cudart is already static): the executables need only glibc
  # 2.34+ and the NVIDIA driver on the machine they are carried to.
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSL4J_CUDA=ON \
    -DSL4J_CUDA_ARCHS="${SL4J_CUDA_ARCHS:-90}" \
    -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" >/dev/null || return 1
  cmake --build "$dir" --parallel "${SL4J_JOBS:-2}" --target engine_tests gpu_bench || return 1
  mkdir -p "$bin"
  cp "$dir/engine_tests" "$dir/gpu_bench" "$bin/" && strip "$bin/engine_tests" "$bin/gpu_bench"
  ls -l "$bin"
}

if [ "${1:-}" = "--build" ]; then
  build || { echo "gpu-check: build failed" >&2; exit 1; }
  exit 0
fi

# A GPU first: on a machine without one this is the only answer, whatever else is missing.
if ! ls /dev/nvidia[0-9]* >/dev/null 2>&1 && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no GPU: no NVIDIA device or driver on this machine (nothing was run)" >&2
  exit 3
fi
chmod +x "$bin"/engine_tests "$bin"/gpu_bench 2>/dev/null  # in case the copy lost the mode bits
if [ ! -x "$bin/engine_tests" ] || [ ! -x "$bin/gpu_bench" ]; then
  if command -v nvcc >/dev/null 2>&1 && command -v cmake >/dev/null 2>&1; then
    echo "gpu-check: gpu-bin/ is absent; building it here with nvcc" >&2
    build || { echo "gpu-check: build failed" >&2; exit 1; }
  else
    echo "gpu-check: gpu-bin/ is absent and this machine has no nvcc: run 'scripts/gpu-check.sh --build'" \
         "where nvcc is, then carry gpu-bin" >&2
    exit 1
  fi
fi

out="${OUT:-$root/gpu-check-out}"
mkdir -p "$out"
cd "$root"  # the tests read fixtures under java/src/test/resources
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$out/gpu.txt"

echo "== CUDA test suite" >&2
timeout 200 "$bin/engine_tests" cuda 2>&1 | tee "$out/tests.log"
tests_rc=${PIPESTATUS[0]}
summary=$(grep -E '^native: ' "$out/tests.log" | tail -1)
passed=$(echo "$summary" | sed -nE 's/^native: ([0-9]+) passed.*/\1/p')
failed=$(echo "$summary" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')
skipped=$(echo "$summary" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
# On a GPU machine a skipped CUDA case is a failure: it means the GPU was not usable.
if [ "$tests_rc" -eq 0 ] && [ "${skipped:-1}" != "0" ]; then tests_rc=1; fi

echo "== benchmark" >&2
timeout 240 "$bin/gpu_bench" --json "$out/bench.json" 2>&1 | tee "$out/bench.log"
bench_rc=${PIPESTATUS[0]}

{
  printf '{\n  "tests": {"exit": %s, "passed": %s, "failed": %s, "skipped": %s},\n' \
    "$tests_rc" "${passed:-null}" "${failed:-null}" "${skipped:-null}"
  printf '  "bench_exit": %s,\n  "bench": ' "$bench_rc"
  if [ -s "$out/bench.json" ]; then sed 's/^/  /' "$out/bench.json" | sed '1s/^  //'; else printf 'null\n'; fi
  printf '}\n'
} > "$out/gpu-check.json"
cat "$out/gpu-check.json"
[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ] || exit 1
