"""Bits per byte of checkpoints on held-out text, one table.

    python -m nonattn_core.evaluate_lm --checkpoint nonattn_core/checkpoints/default --checkpoint OTHER_DIR \
        --text .carry/heldout/pride_and_prejudice.txt.xz --text .carry/corpus/val.jsonl.xz --tokens 65536

A text is a .txt.xz (one document) or a .jsonl.xz of {"text"} documents (the corpus' validation split); the first
`--tokens` tokens are scored in windows of 2,048 by the training loop's own `bits_per_byte`.
"""
from __future__ import annotations

import argparse
import lzma
from pathlib import Path

import torch

from .model import DEFAULT_CHECKPOINT, NonAttnLM
from .tokenizer import Tokenizer
from .train import TokenStream, bits_per_byte, read_documents


def read_text(path: Path) -> list[dict]:
    """The documents of a .jsonl.xz (as training reads them), or a .txt.xz as one document."""
    if path.name.endswith(".jsonl.xz"):
        return read_documents(path)
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return [{"text": f.read()}]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", help="checkpoint directory (repeatable; default: shipped)")
    parser.add_argument("--text", action="append", required=True, help=".txt.xz or .jsonl.xz (repeatable)")
    parser.add_argument("--tokens", type=int, default=65536, help="tokens scored per text")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    tokenizer, device = Tokenizer(), torch.device(args.device)
    streams = {Path(p).name: TokenStream(read_text(Path(p)), tokenizer) for p in args.text}
    print("| checkpoint | " + " | ".join(f"{name} bits/byte" for name in streams) + " |")
    print("|---|" + "---:|" * len(streams))
    for checkpoint in args.checkpoint or [str(DEFAULT_CHECKPOINT)]:
        model = NonAttnLM.from_pretrained(checkpoint, device=device)
        cells = [f"{bits_per_byte(model, stream, 2048, args.tokens, device):.3f}" for stream in streams.values()]
        print(f"| {checkpoint} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
