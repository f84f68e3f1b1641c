#!/usr/bin/env bash
# Our `bench --json` against PyTorch eager CPU float32 on the same shapes, in one run, with the
# same thread count; prints a table of both figures and the ratios (ours / torch), and keeps the
# raw JSON in OUTDIR. Shapes: stories260K (if ../shared has it) and the ~110M `init` shape
# (dim 768, 12 layers, 12 heads, ffn 2048, vocab 32000) in F32 and Q8_0; torch runs F32 for both
# (it has no Q8_0 matmul), so the Q8_0 rows compare our quantized model with torch's F32 one.
#   scripts/bench-vs-pytorch.sh [OUTDIR]
# Environment: THREADS (2), ROUNDS (3), REPEATS_SMALL (5), REPEATS_LARGE (3), GEN_TOKENS (32),
#   SKIP_110M=1 (stories260K only), STACKLLAMA4J (launcher; default scripts/stackllama4j).
# Torch: Debian's python3-torch through /usr/bin/python3, with OpenBLAS (libopenblas0-pthread);
# both are installed with apt-get when missing and we are root. OMP_WAIT_POLICY=PASSIVE: with
# the default (spinning) policy torch's OpenMP threads and OpenBLAS's pthreads fight over the two
# cores and torch runs several times slower; we give torch its best setting, not its worst.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${STACKLLAMA4J:-$root/scripts/stackllama4j}"
py=/usr/bin/python3
threads="${THREADS:-2}"
rs="${REPEATS_SMALL:-5}"
rl="${REPEATS_LARGE:-3}"
rounds="${ROUNDS:-3}"
gen="${GEN_TOKENS:-32}"
out="${1:-$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-pytorch.XXXXXX")}"
mkdir -p "$out"

if ! "$py" -c "import torch" 2>/dev/null || ! ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp* >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update && apt-get install -y python3-torch libopenblas0-pthread
  else
    echo "need python3-torch and libopenblas0-pthread: sudo apt-get install -y python3-torch libopenblas0-pthread" >&2
    exit 1
  fi
fi
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (dirty)')"
echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(grep -o -m1 'avx512f' /proc/cpuinfo || echo 'no avx512')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; the machine is shared)"
echo "threads: $threads (ours --threads, torch.set_num_threads, OPENBLAS_NUM_THREADS); raw JSON in $out"

ours() { # name args...
  local name="$1"; shift
  echo "ours  $name ..." >&2
  "$cli" bench "$@" --threads "$threads" --gen-tokens "$gen" --json 2>"$out/${name%.*}-ours.${name##*.}.log" >"$out/${name%.*}-ours.${name##*.}.json" \
    || { cat "$out/${name%.*}-ours.${name##*.}.log" >&2; exit 1; }
}
torch() { # name args...
  local name="$1"; shift
  echo "torch $name ..." >&2
  "$py" "$root/scripts/bench_vs_pytorch.py" torch "$@" --threads "$threads" --gen-tokens "$gen" >"$out/${name%.*}-torch.${name##*.}.json"
}

m260="$root/../shared/models/stories260K/stories260K.gguf"
[ -f "$m260" ] || echo "stories260K: skipped, $m260 is absent" >&2
shape=(--dim 768 --layers 12 --heads 12 --ffn 2048 --vocab 32000)
# Rounds alternate ours and torch so that both see the same mix of load; the table takes the best
# of every figure over the rounds.
for r in $(seq 1 "$rounds"); do
  if [ -f "$m260" ]; then
    ours stories260K-f32.$r --model "$m260" --repeats "$rs"
    torch stories260K.$r --model "$m260" --repeats "$rs"
  fi
  if [ "${SKIP_110M:-0}" != 1 ]; then
    ours 110M-f32.$r "${shape[@]}" --type f32 --repeats "$rl"
    torch 110M.$r "${shape[@]}" --repeats "$rl"
    ours 110M-q8_0.$r "${shape[@]}" --type q8_0 --repeats "$rl"
  fi
done
files() { # name: f1.json+f2.json+...
  local s="" r
  for r in $(seq 1 "$rounds"); do s="$s${s:++}$out/$1.$r.json"; done
  echo "$s"
}
pairs=()
[ -f "$m260" ] && pairs+=("stories260K F32=$(files stories260K-f32-ours),$(files stories260K-torch)")
if [ "${SKIP_110M:-0}" != 1 ]; then
  pairs+=("110M F32=$(files 110M-f32-ours),$(files 110M-torch)")
  pairs+=("110M Q8_0 (torch F32)=$(files 110M-q8_0-ours),$(files 110M-torch)")
fi

echo
"$py" - "$out" <<'EOF'
import glob, json, sys
t = json.load(open(sorted(glob.glob(sys.argv[1] + "/*-torch.*.json"))[0]))
print("torch %s, %d threads, BLAS mapped: %s" % (t["torch_version"], t["threads"], ", ".join(t["blas_libraries"])))
print("torch build: " + [l.strip() for l in t["config"].splitlines() if "BLAS_INFO" in l][0][:120] + " ...")
EOF
echo
"$py" "$root/scripts/bench_vs_pytorch.py" table "${pairs[@]}"
