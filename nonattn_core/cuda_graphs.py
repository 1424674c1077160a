"""CUDA-graph replay for GPU inference calls that launch many small kernels in a row.

The supervisor's GRU steps once per 256-token chunk: cuDNN launches a few kernels per step, ~11 us each way on
an H100, so a 1M-token document spends tens of ms in launch gaps. `graphed_gru` captures one GRU call per input
shape once and replays it (static input/output buffers; the result is copied out), keeping the faster of cuDNN's
GRU and a fused one-kernel-per-step GRU (triton_ops.gru_by_steps). Plain version: `gru(x, h0)`.
"""
from __future__ import annotations

import torch
import torch.nn as nn

_graphs: dict = {}
MAX_GRAPHS = 16


def _weights_key(module: nn.Module) -> tuple:
    return tuple((p.data_ptr(), p._version) for p in module.parameters())


def _capture(fn, *inputs):
    """(graph, static inputs, static output) of fn(*inputs), warmed up on a side stream first."""
    static = [t.clone() for t in inputs]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):                                      # warm-up: cuDNN plans, Triton compiles
        fn(*static)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn(*static)
    return graph, static, out


def _replay_ms(graph, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(begin.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def graphed_gru(gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """gru(x, h0)[0] by graph replay; one capture per (module, shape, dtype, autocast), rebuilt if weights change.

    Candidates are captured on first use, cuDNN's GRU and `triton_ops.gru_by_steps` (one fused kernel per step,
    16 or 8 hidden units per program), each timed by replays, and the fastest is kept for that shape.
    """
    if torch.cuda.is_current_stream_capturing():                       # inside a caller's capture: plain call
        return gru(x, h0)[0]
    autocast = torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda")
    key = (id(gru), tuple(x.shape), x.dtype, tuple(h0.shape), h0.dtype, str(x.device), autocast)
    entry = _graphs.get(key)
    if entry is None or entry[0] != _weights_key(gru):
        if len(_graphs) >= MAX_GRAPHS:
            _graphs.clear()
        candidates = [_capture(lambda xs, h: gru(xs, h)[0], x, h0)]
        from . import triton_ops
        if triton_ops.available() and x.shape[0] == 1 and gru.num_layers == 1 and gru.hidden_size % 16 == 0 \
                and gru.bias and not gru.bidirectional:
            for units in (16, 8):
                candidates.append(_capture(lambda xs, h, u=units: triton_ops.gru_by_steps(gru, xs, h, u), x, h0))
        best = min(candidates, key=lambda c: _replay_ms(c[0]))
        entry = (_weights_key(gru), *best)
        _graphs[key] = entry
    _, graph, (static_x, static_h), static_out = entry
    static_x.copy_(x)
    static_h.copy_(h0)
    graph.replay()
    return static_out.clone()
