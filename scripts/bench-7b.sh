#!/usr/bin/env bash
# The real-model-scale benchmark: every command on a 7B LLaMA-2 shape (or the Llama-3-8B shape),
# each step in its own process so that its peak RSS (VmHWM, from /usr/bin/time's maximum resident
# set size) is that step's alone, beside the memory plan the command predicts (--dry-run --json).
#
# Usage: scripts/bench-7b.sh [--shape llama2-7b|llama3-8b] [--model M.gguf] [--type q4_k]
#                            [--out DIR] [--threads N] [--skip STEP,...]
#   --model    reuse a model file (else one is made with `init`: minutes, and the file's size on disk)
#   --out      where the work files, bench-7b.json and bench-7b.md go (default target/bench-7b-<shape>)
#   --skip     any of load,bench,sft,reward,ppo
#   --prompt-words, --new-tokens   PPO prompt length in words (default 20: 64 tokens) and response
#              tokens (default 32)
#   --plans-only   write each step's plan (--dry-run --json) again, run nothing, keep the measured
#              steps of earlier runs into the same --out
# Steps: load (model load + one token), bench (prefill 64 tokens; decode 16 tokens at batch 1 and 8,
# each paired with the read-bandwidth floor), sft (one LoRA step, 512 x 1, activation
# checkpointing), reward (one reward-model step on one pair), ppo (one step: batch 4, 64-token
# prompts + 32 response tokens, one PPO epoch, activation checkpointing, split into generate /
# score / optimise; the learned reward model of the reward step, on the same trunk).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shape=llama2-7b model="" type=q4_k out="" threads=0 skip="" prompt_words=20 new_tokens=32 plans_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --shape) shape="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --type) type="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --skip) skip="$2"; shift 2 ;;
    --prompt-words) prompt_words="$2"; shift 2 ;;
    --new-tokens) new_tokens="$2"; shift 2 ;;
    --plans-only) plans_only=1; shift ;;
    *) echo "bench-7b: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$shape" in
  llama2-7b) shape_flags="--dim 4096 --layers 32 --heads 32 --kv-heads 32 --ffn 11008 --vocab 32000" ;;
  llama3-8b) shape_flags="--dim 4096 --layers 32 --heads 32 --kv-heads 8 --ffn 14336 --vocab 128256 --rope-base 500000" ;;
  *) echo "bench-7b: --shape is llama2-7b or llama3-8b, got $shape" >&2; exit 2 ;;
esac
out="${out:-$root/target/bench-7b-$shape}"
mkdir -p "$out"
cli="$root/scripts/stackllama4j"
common=(--threads "$threads")
skipped() { case ",$skip," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

if [ -z "$model" ]; then
  model="$out/model-$type.gguf"
  if [ ! -f "$model" ]; then
    echo "bench-7b: making $model ($shape, $type) with init" >&2
    # shellcheck disable=SC2086
    "$cli" init --out "$model" $shape_flags --type "$type" --seed 1
  fi
fi
[ -f "$model" ] || { echo "bench-7b: no such model file: $model" >&2; exit 1; }
weight_bytes=$(stat -c %s "$model")

# Inputs: texts of common words (about 2.9 tokens per word in init's vocabulary: a 20-word question
# is a 64-token prompt with the template).
words="the a to of and is in it you that for what how many much plus minus times are answer think correct wrong"
python3 - "$out" "$words" "$prompt_words" <<'EOF'
import json, random, sys
out, words, PROMPT_WORDS = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
r = random.Random(7)
text = lambda n: " ".join(r.choice(words) for _ in range(n))
with open(out + "/sft.jsonl", "w") as f:
    for _ in range(4): f.write(json.dumps({"text": text(600)}) + "\n")
with open(out + "/pairs.jsonl", "w") as f:
    for i in range(4): f.write(json.dumps({"qid": str(i), "question": text(20), "response_j": text(8), "response_k": text(8)}) + "\n")
with open(out + "/prompts.jsonl", "w") as f:
    for i in range(4): f.write(json.dumps({"qid": str(i), "question": text(PROMPT_WORDS)}) + "\n")
EOF

results="$out/steps.jsonl"
touch "$results"
# run NAME CMD...: wall seconds and peak RSS of one process, in steps.jsonl with its output. A step
# run again replaces its line; a skipped step keeps an earlier run's into the same --out (so the
# steps can be run in several invocations, the heavy ones first).
run() {
  local name="$1"; shift
  [ "$plans_only" = 0 ] || return 0
  python3 - "$results" "$name" <<'EOF'
import json, sys
path, name = sys.argv[1], sys.argv[2]
keep = [l for l in open(path) if l.strip() and json.loads(l)["step"] != name]
open(path, "w").writelines(keep)
EOF
  echo "bench-7b: $name: $*" >&2
  local t0; t0=$(date +%s.%N)
  if ! /usr/bin/time -f "%M" -o "$out/$name.rss" "$@" >"$out/$name.out" 2>"$out/$name.err"; then
    echo "bench-7b: $name failed (see $out/$name.err)" >&2
    tail -5 "$out/$name.err" >&2
    python3 -c 'import json,sys; print(json.dumps({"step": sys.argv[1], "failed": True}))' "$name" >> "$results"
    return 0
  fi
  local t1; t1=$(date +%s.%N)
  python3 - "$name" "$t0" "$t1" "$out/$name.rss" >> "$results" <<'EOF'
import json, sys
name, t0, t1, rss = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
kib = int(open(rss).read().split()[-1])
print(json.dumps({"step": name, "wall_s": round(t1 - t0, 2), "peak_rss_bytes": kib * 1024}))
EOF
}
# plan NAME CMD...: the command's own plan (--dry-run --json), saved for the table.
plan() {
  local name="$1"; shift
  "$@" --dry-run --json > "$out/$name.plan.json" 2>"$out/$name.plan.err" || echo "bench-7b: $name plan failed" >&2
}

skipped load || run load "$cli" generate --model "$model" "${common[@]}" --prompt "the" --max-tokens 1 --temperature 0
skipped load || plan load "$cli" generate --model "$model" "${common[@]}" --prompt "the" --max-tokens 1 --temperature 0
skipped bench || run bench "$cli" bench --model "$model" "${common[@]}" --prompt-tokens 64 --gen-tokens 16 --repeats 1 \
  --train-batch 0 --json
sft=("$cli" sft --model "$model" "${common[@]}" --train-file "$out/sft.jsonl" --text-field text --output "$out/sft"
  --seq-length 512 --batch-size 1 --max-steps 1 --warmup-steps 0 --activation-checkpointing)
fresh() { [ "$plans_only" = 1 ] || rm -rf "$1"; }
skipped sft || { fresh "$out/sft"; plan sft "${sft[@]}"; run sft "${sft[@]}"; }
rm_cmd=("$cli" train-reward --model "$model" "${common[@]}" --train-file "$out/pairs.jsonl" --output "$out/rm"
  --batch-size 1 --max-steps 1 --max-length 128)
skipped reward || { fresh "$out/rm"; plan reward "${rm_cmd[@]}"; run reward "${rm_cmd[@]}"; }
ppo=("$cli" ppo --model "$model" "${common[@]}" --reward-adapter "$out/rm/reward.gguf" --prompts "$out/prompts.jsonl"
  --output "$out/ppo" --steps 1 --batch-size 4 --mini-batch-size 4 --ppo-epochs 1 --min-new-tokens "$new_tokens"
  --max-new-tokens "$new_tokens" --no-stop-at-eos --activation-checkpointing)
if ! skipped ppo; then
  if [ -f "$out/rm/reward.gguf" ]; then fresh "$out/ppo"; plan ppo "${ppo[@]}"; run ppo "${ppo[@]}"
  else echo "bench-7b: ppo needs the reward step's $out/rm/reward.gguf" >&2; fi
fi

python3 - "$out" "$model" "$shape" "$weight_bytes" <<'EOF'
import json, os, sys
out, model, shape, weights = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
steps = {}
for line in open(out + "/steps.jsonl"):
    s = json.loads(line); steps[s["step"]] = s
def load_json(path):
    try:
        return json.load(open(path))
    except Exception:
        return None
r = {"shape": shape, "model": model, "weight_bytes": weights, "steps": steps}
b = load_json(out + "/bench.out")
if b: r["bench"] = b
for name in ("load", "sft", "reward", "ppo"):
    p = load_json(out + "/%s.plan.json" % name)
    if p and name in steps: steps[name]["plan_total_bytes"] = p["plan_bytes"]["total"]; steps[name]["plan"] = p["plan_bytes"]
for name, d in (("sft", "sft"), ("reward", "rm"), ("ppo", "ppo")):
    m = out + "/%s/metrics.jsonl" % d
    if os.path.exists(m) and name in steps:
        rows = [json.loads(l) for l in open(m) if l.strip()]
        if rows: steps[name]["metrics"] = rows[-1]
json.dump(r, open(out + "/bench-7b.json", "w"), indent=2)
gb = lambda x: "%.2f" % (x / 2**30)
budget = {"load": 1.5, "bench": 1.5, "sft": 4, "reward": 4, "ppo": 4}
lines = ["| step | wall s | peak RSS GiB | planned GiB | plan / RSS | peak - weights GiB | target GiB |", "|---|---|---|---|---|---|---|"]
for name in ("load", "bench", "sft", "reward", "ppo"):
    s = steps.get(name)
    if not s: continue
    if s.get("failed"):
        lines.append("| %s | failed | | | | | |" % name); continue
    rss = s["peak_rss_bytes"]; plan = s.get("plan_total_bytes")
    lines.append("| %s | %.1f | %s | %s | %s | %s | ≤ %s |" % (name, s["wall_s"], gb(rss), gb(plan) if plan else "", 
                 "%.2f" % (plan / rss) if plan else "", gb(rss - weights), budget[name]))
if b:
    lines.append("")
    lines.append("| prefill tok/s | decode b1 tok/s | decode b8 tok/s | read floor GB/s | decode / floor |")
    lines.append("|---|---|---|---|---|")
    lines.append("| %s | %s | %s | %s | %s |" % (b.get("prefill_tok_s"), b.get("decode_tok_s"), b.get("decode_batch8_tok_s"),
                 b.get("read_bandwidth_gb_s"), b.get("decode_vs_bound")))
p = steps.get("ppo", {}).get("metrics")
if p:
    lines.append("")
    lines.append("PPO step: generate %.1f s, score %.1f s, optimise %.1f s (total %.1f s)" % (p["time/ppo/generate_s"],
                 p["time/ppo/score_s"], p["time/ppo/optimize_s"], p["time/ppo/total_s"]))
open(out + "/bench-7b.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
