#!/usr/bin/python3
"""Validate llama_ref.py against the real stories260K model: greedy decoding
from BOS must reproduce the model author's temperature-0 sample
(karpathy_doc_stories260K.md). Exits 1 on mismatch. Needs ../shared."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIR = os.path.join(ROOT, "..", "shared", "models", "stories260K")


def author_sample():
    text = open(os.path.join(DIR, "karpathy_doc_stories260K.md"), encoding="utf-8").read()
    # the first fenced block after the "-t 0.0" command line is the greedy sample
    after = text.split("-t 0.0\n", 1)[1]
    return after.split("```", 1)[0].rstrip("\n")


def main():
    model_path = os.path.join(DIR, "stories260K.gguf")
    if not os.path.exists(model_path):
        print("SKIP: %s absent" % model_path)
        return 0
    expected = author_sample()
    m = llama_ref.LlamaRef(model_path)
    ids = m.greedy([1], 256, stop_at_eos=True)
    got = m.decode(ids).lstrip(" ")   # SentencePiece drops the leading space after BOS
    n = 0
    while n < min(len(got), len(expected)) and got[n] == expected[n]:
        n += 1
    print("greedy from BOS: %d tokens, %d chars; matches the author's sample for %d of its %d chars"
          % (len(ids), len(got), n, len(expected)))
    if n < len(expected):
        print("MISMATCH at char %d:\n expected %r\n got      %r" % (n, expected[n:n + 60], got[n:n + 60]))
        return 1
    print("OK: full sample reproduced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
