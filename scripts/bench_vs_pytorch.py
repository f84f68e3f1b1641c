#!/usr/bin/python3
"""PyTorch eager CPU float32 baseline for `stackllama4j bench`, and the table that compares them.

  bench_vs_pytorch.py torch (--model M.gguf | --dim D --layers L --heads H [--kv-heads K] --ffn F --vocab V [--tied])
                            [--threads 2] [--prompt-tokens 128] [--gen-tokens 32] [--repeats 3]
                            [--train-batch 4] [--train-seq 128] > torch.json
  bench_vs_pytorch.py table NAME=OURS.json[+OURS2.json...],TORCH.json[+TORCH2.json...] ...

`torch` builds a LLaMA of the given shape (with --model only the shape is read from the GGUF;
weights are random either way: speed does not depend on their values) as a plain nn.Module:
RMSNorm, RoPE over adjacent pairs, grouped-query attention with a KV cache, SwiGLU, tied or
untied output. It measures what `bench` measures, the same way (best of --repeats after a
warm-up):
  prefill_tok_s        one forward of --prompt-tokens tokens, batch 1, logits of the last row only
  decode_tok_s         --gen-tokens KV-cache steps, batch 1, logits every step
  decode_batch8_tok_s  the same with 8 sequences side by side
  train_tok_s          one LoRA step (q,v, r=16, alpha 32, dropout 0.05 as PEFT for LLaMA, B = 0,
                       A random; the base frozen): zero_grad, forward, mean cross-entropy over
                       --train-batch x --train-seq random tokens, backward, clip_grad_norm_(1.0),
                       AdamW(lr 1e-4, weight decay 0.05) on the adapter only
All in float32, whatever type our model is stored in. It also records torch's build
configuration, the BLAS library actually mapped into the process and a 1024^3 F32 matmul rate.
"""
import argparse
import json
import statistics
import math
import os
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench_vs_pytorch.py torch")
    p.add_argument("--model")
    p.add_argument("--dim", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--kv-heads", type=int)
    p.add_argument("--ffn", type=int)
    p.add_argument("--vocab", type=int)
    p.add_argument("--tied", action="store_true")
    p.add_argument("--rope-base", type=float, default=10000.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--gen-tokens", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--train-batch", type=int, default=4)
    p.add_argument("--train-seq", type=int, default=128)
    a = p.parse_args(argv)
    if a.model:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
        import gguf_read
        g = gguf_read.GgufFile(a.model)
        a.dim = int(g.require("llama.embedding_length"))
        a.layers = int(g.require("llama.block_count"))
        a.heads = int(g.require("llama.attention.head_count"))
        a.kv_heads = int(g.get("llama.attention.head_count_kv", a.heads))
        a.ffn = int(g.require("llama.feed_forward_length"))
        a.vocab = int(g.tensors["token_embd.weight"].dims[1])
        a.tied = "output.weight" not in g.tensors
        a.rope_base = float(g.get("llama.rope.freq_base", 10000.0))
    for k in ("dim", "layers", "heads", "ffn", "vocab"):
        if getattr(a, k) is None:
            p.error("--%s is required without --model" % k)
    if a.kv_heads is None:
        a.kv_heads = a.heads
    return a


def build(a):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    hd = a.dim // a.heads
    rep = a.heads // a.kv_heads

    class RMSNorm(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(n))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight

    class LoRALinear(nn.Module):
        """y = W x + (alpha / r) B A drop(x), W frozen."""

        def __init__(self, base, r, alpha, dropout):
            super().__init__()
            self.base = base
            self.a = nn.Parameter(torch.empty(r, base.in_features))
            self.b = nn.Parameter(torch.zeros(base.out_features, r))
            nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
            self.scale = alpha / r
            self.drop = nn.Dropout(dropout)

        def forward(self, x):
            return self.base(x) + F.linear(F.linear(self.drop(x), self.a), self.b) * self.scale

    def rope(x, cos, sin):
        # x (B, heads, T, hd); rotate adjacent pairs (2i, 2i+1), ggml "normal" mode
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_norm = RMSNorm(a.dim)
            self.wq = nn.Linear(a.dim, a.heads * hd, bias=False)
            self.wk = nn.Linear(a.dim, a.kv_heads * hd, bias=False)
            self.wv = nn.Linear(a.dim, a.kv_heads * hd, bias=False)
            self.wo = nn.Linear(a.heads * hd, a.dim, bias=False)
            self.ffn_norm = RMSNorm(a.dim)
            self.gate = nn.Linear(a.dim, a.ffn, bias=False)
            self.up = nn.Linear(a.dim, a.ffn, bias=False)
            self.down = nn.Linear(a.ffn, a.dim, bias=False)

        def forward(self, x, cos, sin, cache, pos):
            B, T, _ = x.shape
            n = self.attn_norm(x)
            q = self.wq(n).view(B, T, a.heads, hd).transpose(1, 2)
            k = self.wk(n).view(B, T, a.kv_heads, hd).transpose(1, 2)
            v = self.wv(n).view(B, T, a.kv_heads, hd).transpose(1, 2)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            if cache is not None:  # inference: append to the cache, attend over all of it
                cache[0][:B, :, pos:pos + T] = k
                cache[1][:B, :, pos:pos + T] = v
                k, v = cache[0][:B, :, :pos + T], cache[1][:B, :, :pos + T]
            if rep > 1:
                k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
            s = q @ k.transpose(-1, -2) / math.sqrt(hd)
            if T > 1:
                S = k.shape[2]
                mask = torch.ones(T, S, dtype=torch.bool).triu(S - T + 1)
                s = s.masked_fill(mask, float("-inf"))
            o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, a.heads * hd)
            h = x + self.wo(o)
            n = self.ffn_norm(h)
            return h + self.down(F.silu(self.gate(n)) * self.up(n))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.embd = nn.Embedding(a.vocab, a.dim)
            self.blocks = nn.ModuleList(Block() for _ in range(a.layers))
            self.norm = RMSNorm(a.dim)
            self.out = None if a.tied else nn.Linear(a.dim, a.vocab, bias=False)
            inv = a.rope_base ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
            ang = torch.arange(4096, dtype=torch.float64)[:, None] * inv[None, :]
            self.register_buffer("cos", ang.cos().float())
            self.register_buffer("sin", ang.sin().float())

        def forward(self, tokens, caches=None, pos=0, last_only=False):
            T = tokens.shape[1]
            cos, sin = self.cos[pos:pos + T], self.sin[pos:pos + T]
            x = self.embd(tokens)
            for i, b in enumerate(self.blocks):
                x = b(x, cos, sin, None if caches is None else caches[i], pos)
            if last_only:
                x = x[:, -1:]
            x = self.norm(x)
            return F.linear(x, self.embd.weight) if self.out is None else self.out(x)

    torch.manual_seed(0)
    m = Llama()
    with torch.no_grad():
        for p in m.parameters():  # small weights keep activations finite through many layers
            if p.dim() == 2:
                p.normal_(0, 0.02)
    return m, LoRALinear, hd


def blas_library():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path).lower()
            if "blas" in base or "lapack" in base or "mkl" in base:
                libs.add(path)
    return sorted(libs)


def measure(a):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    model, LoRALinear, hd = build(a)
    model.eval()
    g = torch.Generator().manual_seed(1)
    r = {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
         "shape": {k: getattr(a, k) for k in ("dim", "layers", "heads", "kv_heads", "ffn", "vocab", "tied")},
         "parameters": sum(p.numel() for p in model.parameters())}

    def best(fn, n):
        fn()  # warm-up: allocator, OpenBLAS threads
        t = float("inf")
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            t = min(t, time.perf_counter() - t0)
        return t

    def caches(batch, ctx):
        return [(torch.zeros(batch, a.kv_heads, ctx, hd), torch.zeros(batch, a.kv_heads, ctx, hd)) for _ in range(a.layers)]

    with torch.inference_mode():
        x = torch.randn(1024, 1024, generator=g)
        r["matmul_f32_gflop_s"] = round(2 * 1024 ** 3 / best(lambda: x @ x, 5) / 1e9, 3)
        r["blas_libraries"] = blas_library()

        prompt = torch.randint(0, a.vocab, (1, a.prompt_tokens), generator=g)
        c1 = caches(1, a.prompt_tokens)
        r["prefill_tok_s"] = round(a.prompt_tokens / best(lambda: model(prompt, c1, 0, last_only=True), a.repeats), 3)

        def decode(batch):
            c = caches(batch, a.gen_tokens + 1)
            steps = torch.randint(0, a.vocab, (a.gen_tokens, batch, 1), generator=g)

            def run():
                model(torch.ones(batch, 1, dtype=torch.long), c, 0)  # BOS, outside the timing in ours too
                t0 = time.perf_counter()
                for i in range(a.gen_tokens):
                    model(steps[i], c, i + 1)
                run.t = time.perf_counter() - t0

            run()
            t = float("inf")
            for _ in range(a.repeats):
                run()
                t = min(t, run.t)
            return round(a.gen_tokens * batch / t, 3)

        r["decode_tok_s"] = decode(1)
        r["decode_batch8_tok_s"] = decode(8)

    if a.train_batch > 0:
        for p in model.parameters():
            p.requires_grad_(False)
        for b in model.blocks:
            b.wq = LoRALinear(b.wq, 16, 32.0, 0.05)
            b.wv = LoRALinear(b.wv, 16, 32.0, 0.05)
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05)
        tokens = torch.randint(0, a.vocab, (a.train_batch, a.train_seq), generator=g)
        targets = torch.cat((tokens[:, 1:], torch.full((a.train_batch, 1), -100)), dim=1)

        def step():
            opt.zero_grad(set_to_none=True)
            logits = model(tokens)
            loss = F.cross_entropy(logits.view(-1, a.vocab), targets.reshape(-1), ignore_index=-100)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

        r["train_tok_s"] = round(a.train_batch * a.train_seq / best(step, a.repeats), 3)
        r["lora_parameters"] = sum(p.numel() for p in params)
    r["config"] = torch.__config__.show()
    return r


RATES = ("prefill_tok_s", "decode_tok_s", "decode_batch8_tok_s", "train_tok_s")


def load_rounds(paths):
    runs = []
    for path in paths:
        with open(path) as f:
            runs.append(json.load(f))
    return runs


def best_of(runs):
    """Rounds of one side merged: the best of every rate (the machine is shared: slow rounds are
    the ones where other work took the cores), with each rate's min and max kept for the table."""
    r = dict(runs[0])
    for k in RATES:
        if all(k in x for x in runs):
            r[k] = max(x[k] for x in runs)
            r[k + "_range"] = (min(x[k] for x in runs), max(x[k] for x in runs))
    return r


def last_level_cache_bytes():
    """Size of this machine's largest CPU cache (Linux sysfs), 32 MiB when unknown: a model whose
    weights fit there decodes from cache, and memory bandwidth is no bound for it."""
    best = 0
    base = "/sys/devices/system/cpu/cpu0/cache"
    for d in os.listdir(base) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, d, "size")) as f:
                v = f.read().strip()
            best = max(best, int(v[:-1]) * {"K": 1 << 10, "M": 1 << 20}.get(v[-1], 1) if v[-1] in "KM" else int(v))
        except (OSError, ValueError):
            pass
    return best or 32 << 20


def table(pairs):
    """The FLOP floor is the best F32 matmul rate any run (ours or torch's OpenBLAS) measured: a
    floor taken from a loaded moment would flatter us. The bandwidth floor cannot be taken that way:
    this machine's read bandwidth moves between ~36 and ~55 GB/s within seconds, so `bench` pairs
    each decode run with reads just before and after it, and decode / floor here is the median of
    those paired ratios over every run of every round (with their range)."""
    keys = [("prefill_tok_s", "prefill tok/s", 2.0), ("decode_tok_s", "decode tok/s (batch 1)", 10.0),
            ("decode_batch8_tok_s", "decode tok/s (batch 8)", None), ("train_tok_s", "LoRA train tok/s", 2.0)]
    loaded = []
    for spec in pairs:
        name, files = spec.split("=", 1)
        ours_f, torch_f = files.split(",")
        loaded.append((name, load_rounds(ours_f.split("+")), load_rounds(torch_f.split("+"))))
    every_ours = [x for _, o, _ in loaded for x in o]
    every = every_ours + [x for _, _, t in loaded for x in t]
    floors = [f for x in every_ours for f in x["read_bandwidth_runs_gb_s"]]
    mm = max(x["matmul_f32_gflop_s"] for x in every if "matmul_f32_gflop_s" in x)
    mm_ours = max(x["matmul_f32_gflop_s"] for x in every_ours if "matmul_f32_gflop_s" in x)
    mm_torch = max(x["matmul_f32_gflop_s"] for x in every if "matmul_f32_gflop_s" in x and "torch_version" in x)
    rounds = len(loaded[0][1])
    print("floors: read bandwidth %.1f..%.1f GB/s, median %.1f (paired with each decode run, %d runs); F32 matmul"
          " 1024^3 %.1f GFLOP/s (best of all runs; ours %.1f, torch/OpenBLAS %.1f); figures: best of %d rounds,"
          " [min..max] over rounds" % (min(floors), max(floors), statistics.median(floors), len(floors), mm, mm_ours,
                                       mm_torch, rounds))
    print()
    print("| shape | figure | ours | torch / floor | ratio | target | ours, rounds | torch, rounds |")
    print("| --- | --- | ---: | ---: | ---: | --- | --- | --- |")

    def rng(x, k):
        lo, hi = x[k + "_range"]
        return "%.1f..%.1f" % (lo, hi)

    for name, ours_runs, torch_runs in loaded:
        ours, th = best_of(ours_runs), best_of(torch_runs)
        for k, label, target in keys:
            if k not in ours or k not in th:
                continue
            ratio = ours[k] / th[k]
            verdict = "" if target is None else ("met" if ratio >= target else "NOT met") + " (>= %gx)" % target
            print("| %s | %s | %.1f | %.1f | %.2f | %s | %s | %s |" % (name, label, ours[k], th[k], ratio, verdict,
                                                                       rng(ours, k), rng(th, k)))
        if ours["weight_bytes_per_token"] < last_level_cache_bytes():
            print("| %s | decode / bandwidth floor (%.3g MB per token) | | | | not applicable: the weights fit in the"
                  " last-level cache | | |" % (name, ours["weight_bytes_per_token"] / 1e6))
            continue
        ratios = [q for x in ours_runs for q in x["decode_vs_bound_runs"]]
        floor = statistics.median([f for x in ours_runs for f in x["read_bandwidth_runs_gb_s"]])
        ratio = statistics.median(ratios)
        print("| %s | decode / paired bandwidth floor (%.3g MB per token), median of %d runs | %.1f | %.1f | %.2f | %s"
              " | %.2f..%.2f | |" % (name, ours["weight_bytes_per_token"] / 1e6, len(ratios), ours["decode_tok_s"],
                                    floor * 1e9 / ours["weight_bytes_per_token"], ratio,
                                    ("met" if ratio >= 0.8 else "NOT met") + " (>= 0.8)", min(ratios), max(ratios)))
        if "train_flops_per_token" in ours and "train_tok_s" in ours:
            bound = mm * 1e9 / ours["train_flops_per_token"]
            print("| %s | train / FLOP floor (%.3g MFLOP per token) | %.1f | %.1f | %.2f | | | |" % (
                name, ours["train_flops_per_token"] / 1e6, ours["train_tok_s"], bound, ours["train_tok_s"] / bound))


def main(argv):
    if len(argv) < 1 or argv[0] not in ("torch", "table"):
        sys.exit("usage: bench_vs_pytorch.py torch [flags] | table NAME=OURS.json,TORCH.json ...")
    if argv[0] == "torch":
        print(json.dumps(measure(parse_args(argv[1:])), indent=1))
    else:
        table(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
