#!/usr/bin/env bash
# Every type `quantize` writes, read back by llama.cpp: for a random F32 model (dim 256, 2 layers, vocab 1000)
# converted to each type, llama.cpp's next-token log-probabilities against ours on the same file, beside how far
# the conversion itself moved llama.cpp's from our F32 ones (the peer: what a mis-decoded type would look like).
# Both our precisions are compared: exact (dequantized weights, F32 activations) and fast (8-bit activations and
# integer dot products, as llama.cpp's CPU backend computes them); the last column says, for the types with an
# integer path, whether fast sits closer to llama.cpp than exact does.
# Needs node-llama-cpp: NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install node-llama-cpp@3.22.1 in a scratch folder DIR,
# then: scripts/check-quantize-llamacpp.sh DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
nlc="${1:?usage: $0 DIR_WITH_node_modules}"
jar="$root/target/stackllama4j.jar"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
tokens=1,300,301,302,310,320
java -jar "$jar" init --out "$out/f32.gguf" --dim 256 --layers 2 --heads 4 --kv-heads 2 --ffn 512 --vocab 1000 \
  --type f32 --seed 3 >/dev/null
for t in f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k; do
  [ "$t" = f32 ] || java -jar "$jar" quantize --model "$out/f32.gguf" --out "$out/$t.gguf" --type "$t" >/dev/null
  java -jar "$jar" logits --model "$out/$t.gguf" --tokens "$tokens" --out "$out/$t.npy" >/dev/null 2>&1
  java -jar "$jar" logits --model "$out/$t.gguf" --tokens "$tokens" --precision fast --out "$out/$t-fast.npy" >/dev/null 2>&1
  (cd "$nlc" && node "$root/scripts/llamacpp-next-token.mjs" "$out/$t.gguf" "$tokens") > "$out/$t.json"
done
python3 - "$out" <<'PY'
import json, sys
import numpy as np
d = sys.argv[1]
def ours(t):
    l = np.load(f"{d}/{t}.npy")[-1].astype(np.float64)
    l -= l.max()
    return l - np.log(np.exp(l).sum())
def llamacpp(t):
    v = np.full(1000, np.nan)
    for k, p in json.load(open(f"{d}/{t}.json"))["probs"].items(): v[int(k)] = p
    return np.log(v)
f32 = ours("f32")
print("type  max |logp ours exact - llama.cpp|  ours fast - llama.cpp  llama.cpp - ours F32 (peer)  fast closer")
for t in ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k"]:
    a, f, b = ours(t), ours(t + "-fast"), llamacpp(t)
    e, g = np.abs(a - b).max(), np.abs(f - b).max()
    closer = ("yes" if g < e else "no") if t in ("q8_0", "q4_0", "q4_k", "q5_k", "q6_k") else ""
    print(f"{t:5s} {e:.1e}                          {g:.1e}                  {np.abs(b - f32).max():.1e}                        {closer}")
PY
