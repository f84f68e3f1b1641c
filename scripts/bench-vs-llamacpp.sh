#!/usr/bin/env bash
# Our `bench` against llama.cpp's `llama-bench` on the same GGUF files, alternated in one run:
# prefill of PROMPT tokens and decode at batch 1, THREADS threads, the 110M shape (dim 768,
# 12 layers, 12 heads, ffn 2048, vocab 32000) written by our `init` in each of TYPES. Prints a
# table of both figures and the ratio ours / llama.cpp (best of the ROUNDS alternations for each),
# and keeps the raw JSON in OUTDIR.
#   scripts/bench-vs-llamacpp.sh [OUTDIR]
# The peer is llama.cpp as its users get it: llama-bench built from the llama.cpp source that npm's
# node-llama-cpp bundles (llama/gitRelease.bundle), with dynamic backends, and the package's
# prebuilt libggml-cpu-<family>.so files beside it, chosen per CPU at run time. Everything is built
# in SCRATCH, outside the tree, once; later runs reuse it.
# Environment: SCRATCH (${TMPDIR:-/tmp}/sl4j-llamacpp-peer), NLC (a folder whose node_modules holds
#   node-llama-cpp; default: npm installs node-llama-cpp@3.22.1 into SCRATCH/nlc), THREADS (2),
#   ROUNDS (3), PROMPT (128), GEN (32), TYPES ("q8_0 q4_0 q4_k q6_k"), PRECISION (fast; ours),
#   STACKLLAMA4J (launcher; default scripts/stackllama4j).
# Needs: cmake, a C++ compiler, git, npm (or NLC), python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${STACKLLAMA4J:-$root/scripts/stackllama4j}"
scratch="${SCRATCH:-${TMPDIR:-/tmp}/sl4j-llamacpp-peer}"
threads="${THREADS:-2}"
rounds="${ROUNDS:-3}"
prompt="${PROMPT:-128}"
gen="${GEN:-32}"
types="${TYPES:-q8_0 q4_0 q4_k q6_k}"
precision="${PRECISION:-fast}"
out="${1:-$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-llamacpp.XXXXXX")}"
mkdir -p "$out" "$scratch"

# --- the peer -------------------------------------------------------------------------------
nlc="${NLC:-$scratch/nlc}"
if [ ! -d "$nlc/node_modules/node-llama-cpp" ]; then
  echo "installing node-llama-cpp@3.22.1 into $nlc ..." >&2
  mkdir -p "$nlc"
  (cd "$nlc" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund node-llama-cpp@3.22.1 >"$scratch/npm.log" 2>&1) \
    || { tail -20 "$scratch/npm.log" >&2; exit 1; }
fi
prebuilt="$nlc/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
ls "$prebuilt"/libggml-cpu-*.so >/dev/null 2>&1 || { echo "no prebuilt libggml-cpu-*.so in $prebuilt" >&2; exit 1; }
src="$scratch/src"
bin="$src/build-dl/bin"
if [ ! -x "$bin/llama-bench" ]; then
  [ -d "$src" ] || git clone -q "$nlc/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$src"
  echo "building llama-bench in $src/build-dl (once; tens of minutes on 2 cores) ..." >&2
  cmake -S "$src" -B "$src/build-dl" -DCMAKE_BUILD_TYPE=Release -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF \
    -DGGML_CPU_ALL_VARIANTS=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF >"$scratch/cmake.log" 2>&1 || { tail -20 "$scratch/cmake.log" >&2; exit 1; }
  cmake --build "$src/build-dl" --target llama-bench -j "$(nproc)" >"$scratch/build.log" 2>&1 \
    || { tail -20 "$scratch/build.log" >&2; exit 1; }
fi
# llama.cpp as released: its prebuilt CPU backends, not one built here
rm -f "$bin/libggml-cpu.so"
cp -f "$prebuilt"/libggml-cpu-*.so "$bin/"

# --- the files --------------------------------------------------------------------------------
for t in $types; do
  f="$scratch/110m-$t.gguf"
  [ -f "$f" ] || "$cli" init --out "$f" --dim 768 --layers 12 --heads 12 --kv-heads 12 --ffn 2048 --vocab 32000 \
    --type "$t" --seed 1 >/dev/null
done

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (dirty)')"
echo "peer:    llama.cpp $(git -C "$src" describe --tags --always 2>/dev/null || echo '?') (node-llama-cpp's bundle), prebuilt CPU backends"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; a shared machine: compare the ratios, not the figures)"
echo "run:     prefill $prompt tokens, decode $gen tokens at batch 1, $threads threads, ours --precision $precision, $rounds alternated rounds; raw JSON in $out"

for r in $(seq 1 "$rounds"); do
  for t in $types; do
    f="$scratch/110m-$t.gguf"
    echo "round $r $t: ours ..." >&2
    "$cli" bench --model "$f" --threads "$threads" --prompt-tokens "$prompt" --gen-tokens "$gen" --repeats 2 \
      --train-batch 0 --precision "$precision" --json >"$out/ours-$t-$r.json" 2>"$out/ours-$t-$r.log" \
      || { cat "$out/ours-$t-$r.log" >&2; exit 1; }
    echo "round $r $t: llama.cpp ..." >&2
    (cd "$bin" && ./llama-bench -m "$f" -p "$prompt" -n "$gen" -t "$threads" -r 2 -o json) \
      >"$out/llamacpp-$t-$r.json" 2>"$out/llamacpp-$t-$r.log" || { cat "$out/llamacpp-$t-$r.log" >&2; exit 1; }
  done
done

python3 - "$out" "$rounds" "$prompt" "$types" <<'PY'
import json, sys
d, rounds, prompt, types = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
print()
print("| type | prefill %d: ours tok/s | llama.cpp | ours / llama.cpp | decode: ours tok/s | llama.cpp | ours / llama.cpp |" % prompt)
print("| --- | --- | --- | --- | --- | --- | --- |")
kernels = {}
for t in types:
    op, od, lp, ld = [], [], [], []
    for r in range(1, rounds + 1):
        o = json.load(open(f"{d}/ours-{t}-{r}.json"))
        op.append(o["prefill_tok_s"]); od.append(o["decode_tok_s"])
        kernels[t] = (o.get("prefill_kernels", ""), o.get("decode_kernels", ""))
        for e in json.load(open(f"{d}/llamacpp-{t}-{r}.json")):
            (lp if e["n_prompt"] > 0 else ld).append(e["avg_ts"])
    a, b, c, e = max(op), max(lp), max(od), max(ld)
    print(f"| {t} | {a:,.0f} | {b:,.0f} | {a / b:.2f}× | {c:,.0f} | {e:,.0f} | {c / e:.2f}× |")
print()
for t, (p, dk) in kernels.items():
    print(f"ours {t}: prefill kernels {p}; decode kernels {dk}")
PY
