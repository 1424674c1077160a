"""GPU correctness check (run on the device machine): fast paths against the float32 reference, streaming == parallel.

    python -m nonattn_core.gpu_check     # prints a table; exits non-zero if a check fails
"""
from __future__ import annotations

import sys

import torch

from .config import NonAttnConfig
from .model import NonAttnLM


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 0
    torch.manual_seed(0)
    model = NonAttnLM(NonAttnConfig()).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    ids = torch.randint(0, 100000, (2, 8192))
    rows = []
    with torch.no_grad():
        ref = model(ids)                                               # CPU float32: the reference
        gpu = model.cuda()
        ids_gpu = ids.cuda()
        fp32 = gpu(ids_gpu)
        rows.append(("cuda fp32 logits vs cpu", relative_error(fp32.logits.cpu(), ref.logits), 1e-4))
        rows.append(("cuda fp32 chunk emb vs cpu", relative_error(fp32.chunk_embeddings.cpu(), ref.chunk_embeddings), 1e-4))
        with torch.autocast("cuda", dtype=torch.bfloat16):
            bf16 = gpu(ids_gpu)
        # bf16 matrix products in six blocks compound: the whole model gets a looser bound than one layer
        rows.append(("cuda bf16 logits vs cpu fp32", relative_error(bf16.logits.float().cpu(), ref.logits), 3e-2))
        rows.append(("cuda bf16 chunk emb vs cpu fp32", relative_error(bf16.chunk_embeddings.float().cpu(), ref.chunk_embeddings), 1e-2))
        state, pieces = gpu.init_state(2), []
        for start, end in [(0, 1000), (1000, 1001), (1001, 5000), (5000, 8192)]:
            out, state = gpu.forward_stream(ids_gpu[:, start:end], state, flush=end == 8192)
            pieces.append(out.logits)
        rows.append(("cuda streaming vs parallel", relative_error(torch.cat(pieces, 1).cpu(), fp32.logits.cpu()), 1e-4))
        layer = gpu.lower[0].ssm.conv
        u = torch.randn(2, layer.D.shape[0], 512)
        reference = layer.cpu().reference(u)
        layer.cuda()
        fast, _ = layer(u.cuda())
        rows.append(("S4D layer cuda FFT vs recurrence", relative_error(fast.cpu(), reference), 1e-4))
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fast_bf16, _ = layer(u.cuda().bfloat16())
        rows.append(("S4D layer cuda bf16 input vs recurrence", relative_error(fast_bf16.float().cpu(), reference), 1e-2))
    failed = False
    print(f"{'check':36s} {'rel. error':>12s} {'limit':>8s}")
    for name, err, limit in rows:
        ok = err <= limit
        failed |= not ok
        print(f"{name:36s} {err:12.2e} {limit:8.0e} {'ok' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
