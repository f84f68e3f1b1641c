#!/usr/bin/python3
"""Write a small random-initialised LLaMA GGUF (llama.cpp key names), for
engine tests that need independent inputs in every tensor type.

    /usr/bin/python3 scripts/reference/random_llama.py --case gqa_f32 --out DIR
    /usr/bin/python3 scripts/reference/random_llama.py --all --out DIR

Cases (all 2 layers, n_embd 64, vocab 288, 1-D norm weights in F32 as llama.cpp
stores them):
  gqa_f32       F32,  4 heads / 1 KV head (group 4), tied output, ffn 64
  untied_f16    F16,  4 heads / 2 KV heads, untied output.weight, eps 1e-6, ffn 96
  ropebase_q8_0 Q8_0, 4 heads / 2 KV heads, rope.freq_base 500000, untied, ffn 96
  q4_0          Q4_0, 4 heads / 4 KV heads (plain MHA), tied, ffn 96
  q4_k          ffn_down (rows of ffn = 256) in Q4_K; the other matrices have
                rows of 64, not a multiple of the 256-element K-quant block, so
                they fall back to Q4_0 (as llama.cpp's k-quant mixes fall back)
  kquant_mix    ffn 256; blk.0.ffn_down Q5_K, blk.1.ffn_down Q6_K, the rest Q8_0
The vocabulary is byte-level SentencePiece style (tokenizer.ggml.model =
"llama"): <unk>=0, <s>=1, </s>=2, <0x00>..<0xFF> = 3..258, then 29 merged
pieces with descending scores. Weights are deterministic for a given seed.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_read as R  # noqa: E402
import gguf_write as W  # noqa: E402

N_EMBD, N_LAYER, N_VOCAB, N_CTX = 64, 2, 288, 256

CASES = {
    # name: dict(n_head, n_head_kv, n_ff, tied, eps, base, default type, per-tensor overrides)
    "gqa_f32": dict(n_head=4, n_head_kv=1, n_ff=64, tied=True, eps=1e-5, base=10000.0, type=R.GGML_F32, seed=1),
    "untied_f16": dict(n_head=4, n_head_kv=2, n_ff=96, tied=False, eps=1e-6, base=10000.0, type=R.GGML_F16, seed=2),
    "ropebase_q8_0": dict(n_head=4, n_head_kv=2, n_ff=96, tied=False, eps=1e-5, base=500000.0, type=R.GGML_Q8_0, seed=3),
    "q4_0": dict(n_head=4, n_head_kv=4, n_ff=96, tied=True, eps=1e-5, base=10000.0, type=R.GGML_Q4_0, seed=4),
    "q4_k": dict(n_head=4, n_head_kv=2, n_ff=256, tied=False, eps=1e-5, base=10000.0, type=R.GGML_Q4_0, seed=5,
                 overrides={"blk.0.ffn_down.weight": R.GGML_Q4_K, "blk.1.ffn_down.weight": R.GGML_Q4_K}),
    "kquant_mix": dict(n_head=4, n_head_kv=2, n_ff=256, tied=False, eps=1e-5, base=10000.0, type=R.GGML_Q8_0, seed=6,
                       overrides={"blk.0.ffn_down.weight": R.GGML_Q5_K, "blk.1.ffn_down.weight": R.GGML_Q6_K}),
}

MERGES = ["\u2581", "\u2581t", "he", "\u2581a", "in", "er", "\u2581the", "on", "\u2581s", "an", "at", "en",
          "\u2581w", "\u2581o", "re", "nd", "\u2581b", "ed", "\u2581c", "it", "is", "\u2581h", "ou", "\u2581T",
          "\u2581f", "or", "ing", "\u2581m", "\u2581p"]


def vocab():
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + MERGES
    assert len(tokens) == N_VOCAB and len(set(tokens)) == N_VOCAB
    types = [2, 3, 3] + [6] * 256 + [1] * len(MERGES)        # unknown, control, byte, normal
    scores = [0.0] * 259 + [-float(i) for i in range(len(MERGES))]
    return tokens, scores, types


def build(case, path):
    c = CASES[case]
    rng = np.random.default_rng(c["seed"])
    n_head, n_kv, n_ff = c["n_head"], c["n_head_kv"], c["n_ff"]
    head_dim = N_EMBD // n_head
    w = W.GgufWriter()
    w.add("general.architecture", R.GGUF_STRING, "llama")
    w.add("general.name", R.GGUF_STRING, "stackllama4j random %s" % case)
    w.add("general.alignment", R.GGUF_UINT32, 32)
    w.add("llama.context_length", R.GGUF_UINT32, N_CTX)
    w.add("llama.embedding_length", R.GGUF_UINT32, N_EMBD)
    w.add("llama.block_count", R.GGUF_UINT32, N_LAYER)
    w.add("llama.feed_forward_length", R.GGUF_UINT32, n_ff)
    w.add("llama.attention.head_count", R.GGUF_UINT32, n_head)
    w.add("llama.attention.head_count_kv", R.GGUF_UINT32, n_kv)
    w.add("llama.rope.freq_base", R.GGUF_FLOAT32, c["base"])
    w.add("llama.rope.dimension_count", R.GGUF_UINT32, head_dim)
    w.add("llama.attention.layer_norm_rms_epsilon", R.GGUF_FLOAT32, c["eps"])
    w.add("llama.vocab_size", R.GGUF_UINT32, N_VOCAB)
    tokens, scores, types = vocab()
    w.add("tokenizer.ggml.model", R.GGUF_STRING, "llama")
    w.add_array("tokenizer.ggml.tokens", R.GGUF_STRING, tokens)
    w.add_array("tokenizer.ggml.scores", R.GGUF_FLOAT32, scores)
    w.add_array("tokenizer.ggml.token_type", R.GGUF_INT32, types)
    w.add("tokenizer.ggml.unknown_token_id", R.GGUF_UINT32, 0)
    w.add("tokenizer.ggml.bos_token_id", R.GGUF_UINT32, 1)
    w.add("tokenizer.ggml.eos_token_id", R.GGUF_UINT32, 2)
    w.add("tokenizer.ggml.add_bos_token", R.GGUF_BOOL, True)
    w.add("tokenizer.ggml.add_eos_token", R.GGUF_BOOL, False)

    def mat(name, n_out, n_in, gain=1.0):
        a = rng.standard_normal((n_out, n_in)) * (gain / np.sqrt(n_in))
        w.add_tensor(name, a, c.get("overrides", {}).get(name, c["type"]))

    def norm(name):
        w.add_tensor(name, 1.0 + 0.2 * rng.standard_normal(N_EMBD), R.GGML_F32)

    # embeddings ~ N(0, 1) rows; the gain makes the tied-output logits spread out
    mat("token_embd.weight", N_VOCAB, N_EMBD, gain=np.sqrt(N_EMBD))
    norm("output_norm.weight")
    if not c["tied"]:
        mat("output.weight", N_VOCAB, N_EMBD, gain=3.0)
    for i in range(N_LAYER):
        p = "blk.%d." % i
        norm(p + "attn_norm.weight")
        mat(p + "attn_q.weight", n_head * head_dim, N_EMBD, gain=2.0)   # larger q.k: sharper attention
        mat(p + "attn_k.weight", n_kv * head_dim, N_EMBD, gain=2.0)
        mat(p + "attn_v.weight", n_kv * head_dim, N_EMBD)
        mat(p + "attn_output.weight", N_EMBD, n_head * head_dim, gain=3.0)   # layers must matter next to the embedding
        norm(p + "ffn_norm.weight")
        mat(p + "ffn_gate.weight", n_ff, N_EMBD)
        mat(p + "ffn_up.weight", n_ff, N_EMBD)
        mat(p + "ffn_down.weight", N_EMBD, n_ff, gain=3.0)
    w.write(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--out", required=True, help="output directory; writes CASE.gguf")
    args = ap.parse_args()
    if not args.all and not args.case:
        ap.error("give --case NAME or --all")
    os.makedirs(args.out, exist_ok=True)
    for case in (sorted(CASES) if args.all else [args.case]):
        path = os.path.join(args.out, case + ".gguf")
        build(case, path)
        g = R.GgufFile(path)
        kinds = sorted({t.type_name for t in g.tensors.values()})
        print("%s: %d bytes, %d tensors, types %s" % (path, os.path.getsize(path), len(g.tensors), ",".join(kinds)))


if __name__ == "__main__":
    main()
