"""bf16 copies of float32 weights for GPU inference under bf16 autocast, made once per weight version.

Autocast casts a float32 weight to bf16 on every matmul outside its cache, and its cache is off while CUDA graphs
are captured (`cuda_graphs._capture`: the cached copies die with the autocast context that made them), so a graphed
forward replayed ~30 small cast kernels per call (runs/gpu23/gru_run1.txt: 0.06 ms of a 32K forward). The copies
here live as long as their weight and are remade when it changes: a new address (`.to()`, `p.data = ...`) or a new
version (`load_state_dict`, an optimizer step, any in-place change). Plain version: `F.linear` under autocast.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.weak import WeakIdKeyDictionary

ENABLED = True                                # False: autocast casts the weights on every call, as before
_copies = WeakIdKeyDictionary()               # weight -> ((address, version), its bf16 copy)


def bf16_weight(weight: torch.Tensor) -> torch.Tensor:
    """A contiguous bf16 copy of `weight`, made once per address and version of it."""
    if weight.dtype == torch.bfloat16 and weight.is_contiguous():
        return weight
    made_from = (weight.data_ptr(), weight._version)
    entry = _copies.get(weight)
    if entry is None or entry[0] != made_from:
        entry = _copies[weight] = (made_from, weight.detach().to(torch.bfloat16).contiguous())
    return entry[1]


def cached_tensors() -> list[torch.Tensor]:
    """Every bf16 copy alive (cuda_graphs keeps them while a graph that reads them lives)."""
    return [copy for _, copy in _copies.values()]


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """F.linear(x, weight, bias); for GPU inference under bf16 autocast with the weights' cached bf16 copies.

    Autocast would cast x, weight and bias to bf16 and multiply: this is the same product, bit for bit.
    """
    if ENABLED and x.is_cuda and not torch.is_grad_enabled() and torch.is_autocast_enabled("cuda") \
            and torch.get_autocast_dtype("cuda") == torch.bfloat16:
        return F.linear(x.to(torch.bfloat16), bf16_weight(weight), None if bias is None else bf16_weight(bias))
    return F.linear(x, weight, bias)
