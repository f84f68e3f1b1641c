#!/usr/bin/python3
"""Tolerance study: how far the logits of a model move when every matmul input
(activation) is rounded to float32, float16 or Q8_0 blocks, with the weights
exactly as dequantized. Guides the tolerances in fixtures/README.md.

    /usr/bin/python3 scripts/reference/activation_rounding.py MODEL.gguf... [--tokens 1,2,3]
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_read as R  # noqa: E402
import gguf_write as W  # noqa: E402
import llama_ref  # noqa: E402


def round_q8_0(x):
    a = x.numpy().astype(np.float32)
    raw = np.frombuffer(W.quantize(a.reshape(-1), R.GGML_Q8_0), np.uint8)
    return torch.from_numpy(R.dequantize(raw, R.GGML_Q8_0, a.size).reshape(a.shape).astype(np.float64))


ROUNDINGS = [
    ("f32", lambda x: x.to(torch.float32).to(torch.float64)),
    ("f16", lambda x: x.to(torch.float16).to(torch.float64)),
    ("q8_0", round_q8_0),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--tokens", default="1,72,101,108,108,111,260,265,32,276,3,287,200,150,116,270")
    args = ap.parse_args()
    toks = [int(t) for t in args.tokens.split(",")]
    for path in args.models:
        m = llama_ref.LlamaRef(path)
        t = [x % m.n_vocab for x in toks]
        ref, _ = m.forward(t)
        mx = ref.abs().max().item()
        for name, fn in ROUNDINGS:
            lg, _ = m.forward(t, act=fn)
            err = (lg - ref).abs().max().item()
            agree = int((lg.argmax(1) == ref.argmax(1)).sum())
            print("%-22s acts %-5s max|err| %.5f = %.2e x max|logit|  argmax agree %d/%d"
                  % (os.path.basename(path), name, err, err / mx, agree, len(t)))


if __name__ == "__main__":
    main()
