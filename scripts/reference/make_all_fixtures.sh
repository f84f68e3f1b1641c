#!/bin/bash
# Regenerates every committed reference fixture under java/src/test/resources/fixtures/.
# Run from the repository root:  bash scripts/reference/make_all_fixtures.sh
# Needs Debian's python3-torch and python3-numpy (apt-get install -y python3-torch python3-numpy
# libopenblas0-pthread); uses /usr/bin/python3, not a pyenv python.
set -euo pipefail
PY=/usr/bin/python3
S=scripts/reference
F=java/src/test/resources/fixtures
M=$F/models
mkdir -p "$F" "$M"

$PY $S/selftest.py

# --- stories260K (real model from ../shared; skipped when absent) ---
ST=../shared/models/stories260K/stories260K.gguf
if [ -f "$ST" ]; then
  $PY $S/make_fixtures.py --model $ST --greedy 200 --tokens 1 --out $F/stories260K_greedy.json
  $PY $S/make_fixtures.py --model $ST --tokens 1 --hidden --out $F/stories260K_bos.npy
  # 80-token prompt: BOS + the first 79 greedy tokens from BOS
  P80=$($PY -c "import json;d=json.load(open('$F/stories260K_greedy.json'));print(','.join(map(str,[1]+d['greedy_ids'][:79])))")
  $PY $S/make_fixtures.py --model $ST --tokens "$P80" --hidden --out $F/stories260K_prompt80.npy \
      --note "prompt = BOS + the first 79 greedy tokens from BOS (stories260K_greedy.json)"
else
  echo "skip stories260K fixtures: $ST absent"
fi

# --- random models in every type, with logits on their dequantized weights ---
$PY $S/random_llama.py --all --out $M
# fixed prompts: BOS + ids spread over bytes and merged pieces (vocab 288)
P16=1,72,101,108,108,111,260,265,32,276,3,287,200,150,116,270
P70=$($PY -c "print(','.join(str(1 if i == 0 else 3 + (i * 37) % 285) for i in range(70)))")
for c in gqa_f32 untied_f16 ropebase_q8_0 q4_0 q4_k kquant_mix; do
  $PY $S/make_fixtures.py --model $M/$c.gguf --tokens $P16 --hidden --out $M/${c}_p16.npy
done
$PY $S/make_fixtures.py --model $M/gqa_f32.gguf --tokens "$P70" --hidden --out $M/gqa_f32_p70.npy
ls -l $F $M
