#!/usr/bin/env bash
# llama.cpp's next-token log-probabilities on files our `quantize` writes, as a test fixture for
# LlamaCppAgreementTest (which compares both our precisions with them, without needing llama.cpp).
# A random model (dim 256, 2 layers, 4 heads, 2 KV heads, ffn 512, vocab 512, seed 3) is written by `init`,
# converted to each type, and each file is evaluated by llama.cpp through node-llama-cpp on 10 fixed
# 5-token sequences, each from an empty context, with an F32 KV cache and flash attention off: attention
# then runs in F32 as ours does with --kv-type f32, so the weight products are the only difference left.
# Needs node-llama-cpp (NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install node-llama-cpp@3.22.1 in a scratch
# folder DIR), python3 with numpy, and the jar (mvn -DskipTests package). Usage:
#   scripts/reference/llamacpp_fixture.sh DIR [OUT]    # OUT: default java/src/test/resources/fixtures
# writes OUT/llamacpp_agreement.npy (float32 [types x sequences, vocab]) and OUT/llamacpp_agreement.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
nlc="${1:?usage: $0 DIR_WITH_node_modules [OUT]}"
dest="${2:-$root/java/src/test/resources/fixtures}"
jar="$root/target/stackllama4j.jar"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
types="f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k"
seqs="1,300,301,302,310;1,17,42,99,400;1,256,257,258,259;1,480,12,77,3;1,355,366,377,388"
seqs="$seqs;1,5,6,7,8;1,123,321,213,312;1,450,451,13,14;1,200,100,50,25;1,402,403,404,405"
init_args="--dim 256 --layers 2 --heads 4 --kv-heads 2 --ffn 512 --vocab 512 --seed 3"
java -jar "$jar" init --out "$out/f32.gguf" $init_args --type f32 >/dev/null
for t in $types; do
  [ "$t" = f32 ] || java -jar "$jar" quantize --model "$out/f32.gguf" --out "$out/$t.gguf" --type "$t" >/dev/null
  (cd "$nlc" && node "$root/scripts/llamacpp-next-token.mjs" "$out/$t.gguf" "$seqs" F32) > "$out/$t.json"
done
version="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).version' "$nlc/node_modules/node-llama-cpp/package.json")"
python3 - "$out" "$dest" "$types" "$seqs" "$init_args" "$version" <<'PY'
import hashlib, json, os, sys
import numpy as np
d, dest, types, seqs, init_args, version = sys.argv[1:]
types = types.split()
rows = []
for t in types:
    rows += json.load(open(f"{d}/{t}.json"))["logprobs"]
a = np.asarray(rows, dtype=np.float32)
np.save(f"{dest}/llamacpp_agreement.npy.tmp.npy", a)
os.replace(f"{dest}/llamacpp_agreement.npy.tmp.npy", f"{dest}/llamacpp_agreement.npy")
meta = {
    "written_by": "scripts/reference/llamacpp_fixture.sh",
    "peer": f"llama.cpp through node-llama-cpp {version} (prebuilt CPU backend), KV cache F32, flash attention off",
    "init": "init " + init_args + " --type f32",
    "types": types,
    "sha256": {t: hashlib.sha256(open(f"{d}/{t}.gguf", "rb").read()).hexdigest() for t in types},
    "sequences": [[int(v) for v in s.split(",")] for s in seqs.split(";")],
    "rows": "logprobs of the next token after each sequence: row = type index * sequences + sequence index",
    "shape": list(a.shape),
}
with open(f"{dest}/llamacpp_agreement.json.tmp", "w") as f:
    json.dump(meta, f, indent=1)
os.replace(f"{dest}/llamacpp_agreement.json.tmp", f"{dest}/llamacpp_agreement.json")
print(f"wrote {dest}/llamacpp_agreement.npy {a.shape} and .json")
PY
