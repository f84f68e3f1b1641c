#!/usr/bin/python3
"""LoRA training fixture from an independent implementation: PyTorch float64 autograd.

For a small GGUF model, a fixed LoRA (every projection q,k,v,o,gate,up,down; A and B both
random so every gradient is non-zero), a fixed batch of B packed sequences of T tokens with
shifted targets (-100 = ignored) and a document boundary in sequence 1 (attention isolated
per document, positions keep counting), computes:
  * the mean token cross-entropy over counted rows,
  * d loss / d every LoRA tensor (torch autograd),
  * every LoRA tensor after one torch.optim.AdamW step with the stated hyper-parameters.
LoRA: y = W x + (alpha / r) * B (A x), no dropout (dropout is checked natively by finite
differences with a fixed mask).

Output: a text file, one record per line, "name count v0 v1 ..." (%.10g), plus scalar records.
The native test (cpp-src/tests/train_test.cpp) reads it.

Usage: /usr/bin/python3 scripts/reference/lora_fixture.py --model M.gguf --out F.txt
"""
import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref  # noqa: E402

DT = torch.float64
TARGETS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
WEIGHT_KEY = {"attn_q": "wq", "attn_k": "wk", "attn_v": "wv", "attn_output": "wo",
              "ffn_gate": "w_gate", "ffn_up": "w_up", "ffn_down": "w_down"}
R, ALPHA = 4, 8.0
LR, BETAS, EPS, WD = 1e-2, (0.9, 0.999), 1e-8, 0.1
B, T = 2, 9


def batch(n_vocab):
    rng = np.random.RandomState(1234)
    tokens = rng.randint(1, n_vocab, size=(B, T))
    targets = np.full((B, T), -100, dtype=np.int64)
    targets[:, :-1] = tokens[:, 1:]
    targets[0, 2] = -100                      # a masked label inside a sequence
    doc_start = np.zeros((B, T), dtype=np.int64)
    doc_start[1, 4:] = 4                      # sequence 1: a second document from position 4
    targets[1, 3] = -100                      # no label across the boundary
    return tokens, targets, doc_start


def attention(m, q, k, v, first):
    """q [T,H,d], k/v [T,Hkv,d]; row t sees positions first[t]..t."""
    c = m.cfg
    n = q.shape[0]
    group = c.n_head // c.n_head_kv
    idx = torch.arange(n)
    visible = (idx[None, :] <= idx[:, None]) & (idx[None, :] >= torch.as_tensor(first)[:, None])
    outs = []
    for h in range(c.n_head):
        s = (q[:, h, :] @ k[:, h // group, :].T) / math.sqrt(c.head_dim)
        s = s.masked_fill(~visible, float("-inf"))
        outs.append(torch.softmax(s, dim=-1) @ v[:, h // group, :])
    return torch.stack(outs, dim=1).reshape(n, c.n_head * c.head_dim)


def forward_loss(m, lora, tokens, targets, doc_start):
    c = m.cfg
    scale = ALPHA / R
    total, counted = 0.0, 0

    def lin(L, l, name, x):
        a, b = lora["blk.%d.%s.weight.lora_a" % (l, name)], lora["blk.%d.%s.weight.lora_b" % (l, name)]
        return x @ L[WEIGHT_KEY[name]].T + scale * ((x @ a.T) @ b.T)

    for s in range(B):
        toks = torch.tensor(tokens[s], dtype=torch.long)
        pos = torch.arange(T, dtype=DT)
        x = m.tok_embd[toks]
        for l, L in enumerate(m.layers):
            n = m.rmsnorm(x, L["attn_norm"])
            q = m.rope(lin(L, l, "attn_q", n).reshape(T, c.n_head, c.head_dim), pos)
            k = m.rope(lin(L, l, "attn_k", n).reshape(T, c.n_head_kv, c.head_dim), pos)
            v = lin(L, l, "attn_v", n).reshape(T, c.n_head_kv, c.head_dim)
            x = x + lin(L, l, "attn_output", attention(m, q, k, v, doc_start[s]))
            n = m.rmsnorm(x, L["ffn_norm"])
            x = x + lin(L, l, "ffn_down", torch.nn.functional.silu(lin(L, l, "ffn_gate", n)) * lin(L, l, "ffn_up", n))
        logits = m.rmsnorm(x, m.output_norm) @ m.output.T
        logp = torch.log_softmax(logits, dim=-1)
        for t in range(T):
            if targets[s, t] != -100:
                total = total - logp[t, targets[s, t]]
                counted += 1
    return total / counted, counted


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    m = llama_ref.LlamaRef(args.model)
    c = m.cfg
    dims = {"attn_q": (c.n_embd, c.n_head * c.head_dim), "attn_k": (c.n_embd, c.n_head_kv * c.head_dim),
            "attn_v": (c.n_embd, c.n_head_kv * c.head_dim), "attn_output": (c.n_head * c.head_dim, c.n_embd),
            "ffn_gate": (c.n_embd, c.n_ff), "ffn_up": (c.n_embd, c.n_ff), "ffn_down": (c.n_ff, c.n_embd)}
    rng = np.random.RandomState(99)
    lora, names = {}, []
    for l in range(c.n_layer):
        for name in TARGETS:
            fan_in, fan_out = dims[name]
            base = "blk.%d.%s.weight.lora_" % (l, name)
            # Values rounded to float32 so the engine starts from exactly the same numbers.
            a = rng.uniform(-1, 1, size=(R, fan_in)) / math.sqrt(fan_in)
            b = rng.uniform(-1, 1, size=(fan_out, R)) * 0.05
            lora[base + "a"] = torch.tensor(a.astype(np.float32).astype(np.float64), requires_grad=True)
            lora[base + "b"] = torch.tensor(b.astype(np.float32).astype(np.float64), requires_grad=True)
            names += [base + "a", base + "b"]
    tokens, targets, doc_start = batch(m.n_vocab)
    loss, counted = forward_loss(m, lora, tokens, targets, doc_start)
    loss.backward()
    init = {n: lora[n].detach().clone() for n in names}
    grads = {n: lora[n].grad.detach().clone() for n in names}
    opt = torch.optim.AdamW([lora[n] for n in names], lr=LR, betas=BETAS, eps=EPS, weight_decay=WD)
    opt.step()

    def rec(f, name, values):
        values = np.asarray(values, dtype=np.float64).ravel()
        f.write("%s %d %s\n" % (name, values.size, " ".join("%.10g" % v for v in values)))

    with open(args.out, "w") as f:
        rec(f, "config.r_alpha_B_T", [R, ALPHA, B, T])
        rec(f, "adamw.lr_beta1_beta2_eps_wd", [LR, BETAS[0], BETAS[1], EPS, WD])
        rec(f, "batch.tokens", tokens)
        rec(f, "batch.targets", targets)
        rec(f, "batch.doc_start", doc_start)
        rec(f, "loss", [loss.item(), counted])
        for n in names:
            rec(f, "init." + n, init[n].numpy())
            rec(f, "grad." + n, grads[n].numpy())
            rec(f, "adamw." + n, lora[n].detach().numpy())
    print("loss %.10f over %d tokens, %d LoRA tensors -> %s" % (loss.item(), counted, len(names), args.out))


if __name__ == "__main__":
    main()
