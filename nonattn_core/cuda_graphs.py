"""CUDA-graph replay for GPU inference calls that launch many small kernels in a row.

The supervisor's GRU steps once per 256-token chunk: cuDNN launches a few kernels per step, ~11 us each way on
an H100, so a 1M-token document spends tens of ms in launch gaps. `graphed_gru` captures one GRU call per input
shape once and replays it (static input/output buffers; the result is copied out). Plain version: `gru(x, h0)`.
"""
from __future__ import annotations

import torch
import torch.nn as nn

_graphs: dict = {}
MAX_GRAPHS = 16


def _weights_key(module: nn.Module) -> tuple:
    return tuple((p.data_ptr(), p._version) for p in module.parameters())


def graphed_gru(gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """gru(x, h0)[0] by graph replay; one capture per (module, shape, dtype, autocast), rebuilt if weights change."""
    if torch.cuda.is_current_stream_capturing():                       # inside a caller's capture: plain call
        return gru(x, h0)[0]
    autocast = torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda")
    key = (id(gru), tuple(x.shape), x.dtype, tuple(h0.shape), h0.dtype, str(x.device), autocast)
    entry = _graphs.get(key)
    if entry is None or entry[0] != _weights_key(gru):
        if len(_graphs) >= MAX_GRAPHS:
            _graphs.clear()
        static_x, static_h = x.clone(), h0.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):                                  # warm-up: cuDNN plans and workspace
            gru(static_x, static_h)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out, _ = gru(static_x, static_h)
        entry = (_weights_key(gru), graph, static_x, static_h, static_out)
        _graphs[key] = entry
    _, graph, static_x, static_h, static_out = entry
    static_x.copy_(x)
    static_h.copy_(h0)
    graph.replay()
    return static_out.clone()
