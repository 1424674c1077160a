"""Language modelling against a Transformer: same width, depth, embedding and tokens, same GPU time, side by side.

    python -m nonattn_core.lm_compare --minutes 4 --corpus .carry/corpus \
        --heldout .carry/heldout/pride_and_prejudice.txt.xz

Both models train on the LM objective alone (next token) from scratch for the same wall-clock budget, then are
scored in bits per UTF-8 byte on the validation split and on a reserved text never trained on.
"""
from __future__ import annotations

import argparse
import lzma
from pathlib import Path

import torch

from .baseline import TransformerLM
from .config import NonAttnConfig
from .model import NonAttnLM
from .tokenizer import Tokenizer
from .train import TokenStream, TrainConfig, bits_per_byte, read_documents, train


def load_trained(arch: str, out: Path, seq_len: int, device):
    if arch == "transformer":
        model = TransformerLM(NonAttnConfig(), max_len=seq_len)
        model.load_state_dict(torch.load(out / "transformer.pt", map_location="cpu"))
        return model.to(device)
    return NonAttnLM.from_pretrained(out / "checkpoint", device=device)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=4.0, help="training budget per model")
    parser.add_argument("--corpus", default=".carry/corpus")
    parser.add_argument("--heldout", default=".carry/heldout/pride_and_prejudice.txt.xz")
    parser.add_argument("--out", default="runs/lm_compare")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = Tokenizer()
    val = TokenStream(read_documents(Path(args.corpus) / "val.jsonl.xz"), tokenizer)
    with lzma.open(args.heldout, "rt", encoding="utf-8") as f:
        heldout = TokenStream([{"text": f.read()}], tokenizer)
    rows = []
    for arch in ("nonattn", "transformer"):
        out = Path(args.out) / arch
        summary = train(TrainConfig(corpus=args.corpus, teacher=None, out=str(out), arch=arch,
                                    max_minutes=args.minutes, seq_len=args.seq_len, batch_size=args.batch_size))
        model = load_trained(arch, out, args.seq_len, device)
        rows.append((arch, summary["parameters"], summary["steps"], summary["tokens_seen_this_run"], summary["wall_s"],
                     bits_per_byte(model, val, args.seq_len, 1 << 20, device),
                     bits_per_byte(model, heldout, args.seq_len, 1 << 20, device)))
        del model
        torch.cuda.empty_cache()
    print(f"\n# LM only, {args.minutes} min each on {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, "
          f"windows of {args.seq_len} tokens")
    print("| model | parameters | steps | tokens | seconds | val bits/byte | Pride and Prejudice bits/byte |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for arch, params, steps, tokens, wall, val_bpb, held_bpb in rows:
        print(f"| {arch} | {params / 1e6:.1f}M | {steps} | {tokens / 1e6:.1f}M | {wall:.0f} | {val_bpb:.3f} | {held_bpb:.3f} |")


if __name__ == "__main__":
    main()
