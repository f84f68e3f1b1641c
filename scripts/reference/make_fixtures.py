#!/usr/bin/python3
"""Write reference logits (and optionally final hidden states) for a GGUF LLaMA.

    /usr/bin/python3 scripts/reference/make_fixtures.py --model F.gguf --tokens 1,2,3 --out NAME.npy [--hidden]
    /usr/bin/python3 scripts/reference/make_fixtures.py --model F.gguf --greedy 200 --out NAME.json

Logits mode writes NAME.npy: float32 [positions, vocab] (C order, .npy v1), and
NAME.json beside it recording the model, its sha256, the token ids, the
positions kept and the shapes. --hidden also writes NAME.hidden.npy: float32
[positions, n_embd], the hidden state after the final RMSNorm (the input of the
output projection). --positions keeps only some rows (e.g. "0,63,-1") to keep a
fixture small; by default every position is kept.

Greedy mode writes a JSON with the prompt, the greedy continuation ids and their
decoded text. Computation is float64 (llama_ref.py); only the file is float32.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref  # noqa: E402


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dump_json(meta, path):
    """One top-level key per line, lists kept on one line (diff-friendly, small)."""
    lines = ["  %s: %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False)) for k, v in meta.items()]
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


def parse_ids(s):
    return [int(t) for t in s.split(",") if t.strip()]


def write_logits(model, model_path, tokens, out, hidden, positions, note):
    logits, hid = model.forward(tokens)
    T = len(tokens)
    rows = list(range(T)) if positions is None else [p % T for p in positions]
    lg = logits[rows].numpy().astype(np.float32)
    np.save(out, lg)
    meta = {
        "model": os.path.basename(model_path),
        "model_sha256": sha256(model_path),
        "tokens": tokens,
        "positions": rows,
        "logits_file": os.path.basename(out),
        "logits_shape": list(lg.shape),
        "dtype": "float32 (computed in float64 by scripts/reference/llama_ref.py)",
        "max_abs_logit": float(np.abs(lg).max()),
        "argmax": [int(i) for i in lg.argmax(axis=1)],
        # smallest gap between the best and second-best logit over the rows:
        # argmax comparisons are only meaningful for rows whose gap exceeds the tolerance
        "top2_margin": [round(float(m), 6) for m in np.diff(np.sort(lg, axis=1)[:, -2:], axis=1)[:, 0]],
        "torch": torch.__version__,
    }
    if hidden:
        hpath = out[:-len(".npy")] + ".hidden.npy"
        h = hid[rows].numpy().astype(np.float32)
        np.save(hpath, h)
        meta["hidden_file"] = os.path.basename(hpath)
        meta["hidden_shape"] = list(h.shape)
    if note:
        meta["note"] = note
    dump_json(meta, out[:-len(".npy")] + ".json")
    return lg


def write_greedy(model, model_path, prompt, n, out):
    ids = model.greedy(prompt, n, stop_at_eos=False)
    meta = {
        "model": os.path.basename(model_path),
        "model_sha256": sha256(model_path),
        "prompt": prompt,
        "n_generated": len(ids),
        "greedy_ids": ids,
        "text": model.decode(ids),
        "note": "greedy argmax, full float64 recompute each step, no EOS stop",
    }
    dump_json(meta, out)
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", default="1", help="comma-separated token ids (greedy mode: the prompt)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden", action="store_true", help="also write NAME.hidden.npy")
    ap.add_argument("--positions", default=None, help="comma-separated rows to keep (negative counts from the end)")
    ap.add_argument("--greedy", type=int, default=0, help="greedy mode: number of tokens to generate")
    ap.add_argument("--note", default=None)
    args = ap.parse_args()
    model = llama_ref.LlamaRef(args.model)
    tokens = parse_ids(args.tokens)
    if args.greedy:
        if not args.out.endswith(".json"):
            sys.exit("--greedy writes JSON: --out must end in .json")
        ids = write_greedy(model, args.model, tokens, args.greedy, args.out)
        print("%s: %d greedy tokens" % (args.out, len(ids)))
    else:
        if not args.out.endswith(".npy"):
            sys.exit("--out must end in .npy")
        pos = parse_ids(args.positions) if args.positions else None
        lg = write_logits(model, args.model, tokens, args.out, args.hidden, pos, args.note)
        print("%s: logits %s, max|logit| %.4f" % (args.out, list(lg.shape), float(np.abs(lg).max())))


if __name__ == "__main__":
    main()
