#!/usr/bin/python3
"""Reference LLaMA forward pass in PyTorch float64, as llama.cpp defines it for
`general.architecture = llama`. Plain and unoptimised: every correctness test of
the engine compares against this.

Environment (recorded): Debian /usr/bin/python3 3.11.2, python3-torch 1.13.0a0
(Debian build), numpy 1.24.2.

Conventions followed (llama.cpp "llama" graph):
  * A ggml weight with dims {in, out} is the numpy/torch array [out, in]; y = W @ x.
  * x = token_embd[token]; per layer:
        h = x + Wo @ attn(rope(Wq @ rms(x)*g_attn), rope(Wk @ ...), Wv @ ...)
        x = h + Wdown @ (silu(Wgate @ n) * (Wup @ n)),  n = rms(h)*g_ffn
    final: logits = Wout @ (rms(x) * g_out), Wout = output.weight or, when
    absent, token_embd.weight (tied).
  * rms(x) = x / sqrt(mean(x^2) + eps), eps = llama.attention.layer_norm_rms_epsilon.
  * Heads: q is [n_head, head_dim] (head index slowest), head_dim =
    llama.attention.key_length or n_embd / n_head. GQA: q head h reads kv head
    h // (n_head / n_head_kv).
  * RoPE, ggml "normal" mode: rotate ADJACENT pairs (2i, 2i+1) of each head's
    first n_rot = llama.rope.dimension_count dims (the rest pass through):
        theta_i = p * base^(-2i / n_rot),  base = llama.rope.freq_base (10000)
        (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos)
    GGUF Q/K weights are stored already permuted by llama.cpp's converter so
    that this adjacent-pair rotation is right; we apply it to the weights as
    stored.
  * Position scaling supported:
        llama.rope.scaling.type = "none"   : nothing
        llama.rope.scaling.type = "linear" : p -> p / llama.rope.scaling.factor
        (older key llama.rope.scale_linear = factor also read)
        tensor rope_freqs.weight [n_rot/2] (Llama-3.1 style frequency factors,
        as llama.cpp applies them): theta_i -> theta_i / rope_freqs[i]
    Anything else (yarn, longrope, ...) raises an error rather than guessing.
  * Attention: causal, softmax(q.k / sqrt(head_dim)), positions 0..T-1.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_read  # noqa: E402

DT = torch.float64


class LlamaConfig:
    def __init__(self, g):
        arch = g.require("general.architecture")
        if arch != "llama":
            raise gguf_read.GgufError("%s: general.architecture is %r, expected 'llama'" % (g.path, arch))
        self.n_embd = int(g.require("llama.embedding_length"))
        self.n_layer = int(g.require("llama.block_count"))
        self.n_ff = int(g.require("llama.feed_forward_length"))
        self.n_head = int(g.require("llama.attention.head_count"))
        self.n_head_kv = int(g.get("llama.attention.head_count_kv", self.n_head))
        self.head_dim = int(g.get("llama.attention.key_length", self.n_embd // self.n_head))
        self.head_dim_v = int(g.get("llama.attention.value_length", self.head_dim))
        self.eps = float(g.require("llama.attention.layer_norm_rms_epsilon"))
        self.n_rot = int(g.get("llama.rope.dimension_count", self.head_dim))
        self.rope_base = float(g.get("llama.rope.freq_base", 10000.0))
        self.context_length = int(g.get("llama.context_length", 0))
        scaling = g.get("llama.rope.scaling.type", "none")
        factor = float(g.get("llama.rope.scaling.factor", 0.0) or 0.0)
        if "llama.rope.scale_linear" in g.metadata:  # older key name
            scaling, factor = "linear", float(g.metadata["llama.rope.scale_linear"])
        if scaling not in ("none", "linear"):
            raise gguf_read.GgufError("%s: llama.rope.scaling.type %r not supported by the reference" % (g.path, scaling))
        self.pos_scale = 1.0 / factor if (scaling == "linear" and factor > 0) else 1.0
        if self.n_head % self.n_head_kv != 0:
            raise gguf_read.GgufError("%s: head_count %d not a multiple of head_count_kv %d" % (g.path, self.n_head, self.n_head_kv))
        if self.n_rot % 2 != 0 or self.n_rot > self.head_dim:
            raise gguf_read.GgufError("%s: llama.rope.dimension_count %d invalid for head_dim %d" % (g.path, self.n_rot, self.head_dim))


class LlamaRef:
    def __init__(self, path):
        self.g = gguf_read.GgufFile(path)
        self.cfg = LlamaConfig(self.g)
        c = self.cfg

        def w(name, shape):
            a = self.g.tensor(name)
            if list(a.shape) != list(shape):
                raise gguf_read.GgufError("%s: tensor %s has shape %s (numpy), expected %s" % (path, name, list(a.shape), list(shape)))
            return torch.from_numpy(np.array(a, dtype=np.float64))

        emb = self.g.tensor("token_embd.weight")
        self.n_vocab = emb.shape[0]
        self.tok_embd = w("token_embd.weight", [self.n_vocab, c.n_embd])
        self.tied = "output.weight" not in self.g.tensors
        self.output = self.tok_embd if self.tied else w("output.weight", [self.n_vocab, c.n_embd])
        self.output_norm = w("output_norm.weight", [c.n_embd])
        self.rope_freqs = w("rope_freqs.weight", [c.n_rot // 2]) if "rope_freqs.weight" in self.g.tensors else None
        self.layers = []
        for i in range(c.n_layer):
            p = "blk.%d." % i
            self.layers.append(dict(
                attn_norm=w(p + "attn_norm.weight", [c.n_embd]),
                wq=w(p + "attn_q.weight", [c.n_head * c.head_dim, c.n_embd]),
                wk=w(p + "attn_k.weight", [c.n_head_kv * c.head_dim, c.n_embd]),
                wv=w(p + "attn_v.weight", [c.n_head_kv * c.head_dim_v, c.n_embd]),
                wo=w(p + "attn_output.weight", [c.n_embd, c.n_head * c.head_dim_v]),
                ffn_norm=w(p + "ffn_norm.weight", [c.n_embd]),
                w_gate=w(p + "ffn_gate.weight", [c.n_ff, c.n_embd]),
                w_up=w(p + "ffn_up.weight", [c.n_ff, c.n_embd]),
                w_down=w(p + "ffn_down.weight", [c.n_embd, c.n_ff]),
            ))

    # ---- ops ----
    def rmsnorm(self, x, g):
        return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + self.cfg.eps) * g

    def rope(self, x, pos):
        """x: [T, H, head_dim]; pos: [T] float64 positions. Adjacent-pair rotation."""
        c = self.cfg
        i = torch.arange(c.n_rot // 2, dtype=DT)
        inv_freq = c.rope_base ** (-2.0 * i / c.n_rot)            # [n_rot/2]
        if self.rope_freqs is not None:
            inv_freq = inv_freq / self.rope_freqs
        theta = (pos * c.pos_scale)[:, None] * inv_freq[None, :]   # [T, n_rot/2]
        cos = torch.cos(theta)[:, None, :]
        sin = torch.sin(theta)[:, None, :]
        x0 = x[..., 0:c.n_rot:2]
        x1 = x[..., 1:c.n_rot:2]
        out = x.clone()
        out[..., 0:c.n_rot:2] = x0 * cos - x1 * sin
        out[..., 1:c.n_rot:2] = x0 * sin + x1 * cos
        return out

    def attention(self, q, k, v):
        """q [T, H, d], k [T, Hkv, d], v [T, Hkv, dv] -> [T, H*dv], causal, GQA."""
        c = self.cfg
        T = q.shape[0]
        group = c.n_head // c.n_head_kv
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        out = torch.empty(T, c.n_head, c.head_dim_v, dtype=DT)
        for h in range(c.n_head):
            kvh = h // group
            scores = (q[:, h, :] @ k[:, kvh, :].T) / math.sqrt(c.head_dim)   # [T, T]
            scores = scores.masked_fill(mask, float("-inf"))
            out[:, h, :] = torch.softmax(scores, dim=-1) @ v[:, kvh, :]
        return out.reshape(T, c.n_head * c.head_dim_v)

    def forward(self, tokens, act=None):
        """tokens: list of ids -> (logits [T, vocab], hidden [T, n_embd] after the final norm), float64.

        act: optional function applied to every matrix-multiply input (activation
        rounding studies, e.g. what ggml's Q8 activation quantization costs);
        None means exact float64."""
        c = self.cfg
        a = act if act is not None else (lambda t: t)
        for t in tokens:
            if not 0 <= t < self.n_vocab:
                raise ValueError("token id %d out of range [0, %d)" % (t, self.n_vocab))
        T = len(tokens)
        pos = torch.arange(T, dtype=DT)
        x = self.tok_embd[torch.tensor(tokens, dtype=torch.long)]
        for L in self.layers:
            n = a(self.rmsnorm(x, L["attn_norm"]))
            q = self.rope((n @ L["wq"].T).reshape(T, c.n_head, c.head_dim), pos)
            k = self.rope((n @ L["wk"].T).reshape(T, c.n_head_kv, c.head_dim), pos)
            v = (n @ L["wv"].T).reshape(T, c.n_head_kv, c.head_dim_v)
            x = x + a(self.attention(q, k, v)) @ L["wo"].T
            n = a(self.rmsnorm(x, L["ffn_norm"]))
            gate = n @ L["w_gate"].T
            x = x + a(torch.nn.functional.silu(gate) * (n @ L["w_up"].T)) @ L["w_down"].T
        hidden = self.rmsnorm(x, self.output_norm)
        return a(hidden) @ self.output.T, hidden

    def greedy(self, prompt, n_new, stop_at_eos=True):
        """Greedy decoding (full recompute each step: slow but obviously right)."""
        toks = list(prompt)
        eos = int(self.g.get("tokenizer.ggml.eos_token_id", -1))
        bos = int(self.g.get("tokenizer.ggml.bos_token_id", -1))
        for _ in range(n_new):
            logits, _ = self.forward(toks)
            nxt = int(torch.argmax(logits[-1]))
            if stop_at_eos and nxt in (eos, bos):   # llama2.c's run stops on BOS too
                break
            toks.append(nxt)
        return toks[len(prompt):]

    # ---- vocab decoding (SentencePiece-style llama vocab) ----
    def decode(self, ids):
        vocab = self.g.require("tokenizer.ggml.tokens")
        out = bytearray()
        for i in ids:
            piece = vocab[i]
            if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
                out.append(int(piece[3:5], 16))
            else:
                out += piece.replace("\u2581", " ").encode("utf-8", errors="surrogateescape")
        return out.decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser(description="Reference LLaMA forward / greedy decoding from a GGUF file")
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", default="1", help="comma-separated token ids (default: BOS=1)")
    ap.add_argument("--n", type=int, default=200, help="tokens to generate")
    args = ap.parse_args()
    m = LlamaRef(args.model)
    prompt = [int(t) for t in args.prompt.split(",") if t.strip()]
    ids = m.greedy(prompt, args.n)
    print(",".join(str(t) for t in ids))
    print(m.decode(ids))


if __name__ == "__main__":
    main()
