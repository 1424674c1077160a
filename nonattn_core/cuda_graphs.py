"""CUDA-graph replay for GPU inference calls that launch many small kernels in a row.

The supervisor's GRU steps once per 256-token chunk: cuDNN launches a few kernels per step, ~11 us each way on
an H100, so a 1M-token document spends tens of ms in launch gaps. `graphed_gru` captures one GRU call per input
shape once and replays it (static input/output buffers; the result is copied out), keeping the faster of cuDNN's
GRU and a fused one-kernel-per-step GRU (triton_ops.gru_by_steps). Plain version: `gru(x, h0)`. Batch-1 inference
runs all steps in one launch instead (triton_ops.gru_persistent, no graph needed); this serves the other shapes.

`graphed_blocks` does the same for a stack of blocks (the model's lower and upper blocks in `forward_stream`), and
`graphed_first_piece` for a whole `forward_stream` call from where a document starts (a short document whole):
at 8K-32K tokens a piece's GPU work is a few ms and launching its ~60 kernels per block from Python costs more.
A shape is captured the second time it is seen (the first call runs eagerly, so one-off shapes such as a
document's last piece never pay for a capture) and replayed after that; the replay runs the same kernels on the
same values as the eager call. Set NONATTN_CUDA_GRAPHS=0 (or `cuda_graphs.ENABLED = False`) to run eagerly.
"""
from __future__ import annotations

import operator
import os
import weakref

import torch
import torch.nn as nn

_graphs: dict = {}
MAX_GRAPHS = 16
ENABLED = os.environ.get("NONATTN_CUDA_GRAPHS", "1") != "0"
GRAPH_MAX_TOKENS = 1 << 17     # larger pieces are not launch-bound, and a graph keeps its intermediates' memory
MAX_STACK_GRAPHS = 8
_stack_graphs: dict = {}
_seen: dict = {}


_parameters = weakref.WeakKeyDictionary()    # module -> (structure_changes when listed, its parameters)
_structure_changes = 0


def _note_structure_change(*_) -> None:
    """A module somewhere gained a parameter or a submodule: parameter lists are made again on next use."""
    global _structure_changes
    _structure_changes += 1


nn.modules.module.register_module_parameter_registration_hook(_note_structure_change)
nn.modules.module.register_module_module_registration_hook(_note_structure_change)
_address = torch.Tensor.data_ptr
_version = operator.attrgetter("_version")


def _weights_key(module: nn.Module) -> tuple:
    """What changes whenever one of module's weights does: each parameter's address (`.to()`, `p.data = ...`) and
    version (load_state_dict, optimizer steps, any in-place change). The parameter list is kept, and walked again
    only after some module gained a parameter or submodule (a replaced weight or layer): walking ~100 submodules
    took ~150 us of host time before each graph replay, reading the ~180 addresses and versions takes ~20."""
    listed = _parameters.get(module)
    if listed is None or listed[0] != _structure_changes:
        listed = _parameters[module] = (_structure_changes, list(module.parameters()))
    params = listed[1]
    return tuple(map(_address, params)), tuple(map(_version, params))


def _capture(fn, *inputs):
    """(graph, static inputs, static output) of fn(*inputs), warmed up on a side stream first.

    Autocast's cache of low-precision weight copies is off while capturing: a graph that read a cached copy would
    read freed memory once the autocast context that made it exits (the cache is cleared then), so the casts are
    recorded in the graph instead (the same values, a few small kernels per replay).
    """
    static = [t.clone() for t in inputs]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    no_cache = torch.autocast("cuda", dtype=torch.get_autocast_dtype("cuda"),
                              enabled=torch.is_autocast_enabled("cuda"), cache_enabled=False)
    with no_cache:
        with torch.cuda.stream(side):                                  # warm-up: cuDNN plans, Triton compiles
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


def _graph_for(graphs: dict, key: tuple, model: nn.Module, fn, inputs: list):
    """The (graph, static inputs, static outputs) of fn(*inputs) cached under `key`, or None: run eagerly.

    A key is captured the second time it is seen (one-off shapes never pay for a capture) and rebuilt when the
    model's weights change; a capture that fails twice leaves the key eager.
    """
    entry = graphs.get(key)
    weights = _weights_key(model)
    if entry is None or entry[0] != weights:
        _seen[key] = _seen.get(key, 0) + 1
        if _seen[key] < 2 or _seen[key] > 3:                          # first sight, or capture failed twice
            if len(_seen) > 256:
                _seen.clear()
            return None
        try:
            graph, static_in, static_out = _capture(fn, *inputs)
        except RuntimeError:                                           # an op that cannot be captured: eager
            return None
        if len(graphs) >= MAX_STACK_GRAPHS:
            graphs.clear()
        # the graph reads cached matrices by address: hold them, so that a cache that replaces one (a weight
        # change elsewhere, a cleared cache) cannot free memory this graph still reads
        from . import bf16_weights, s4d_chunked, triton_ops
        held = s4d_chunked.cached_tensors() + triton_ops.cached_tensors() + bf16_weights.cached_tensors()
        entry = graphs[key] = (weights, graph, static_in, static_out, held)
        _seen[key] = 2                                                 # a later weight change captures at once
    _, graph, static_in, static_out, _ = entry
    for buffer, value in zip(static_in, inputs):
        buffer.copy_(value)
    graph.replay()
    return static_out


def graphs_apply(first: torch.Tensor) -> bool:
    """Whether a stack or first piece with this input may be replayed from a graph (else it runs as called)."""
    return (ENABLED and first.is_cuda and not torch.is_grad_enabled() and not torch.cuda.is_current_stream_capturing()
            and first.shape[0] * first.shape[1] <= GRAPH_MAX_TOKENS)


def _autocast_key() -> tuple:
    return torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda")


def graphed_blocks(model: nn.Module, tag: str, run, first: torch.Tensor, states: list) -> tuple:
    """`run(first, states) -> (out, new_states)` by graph replay, or eagerly (see the module's docstring).

    `first` is the stack's input tensor, `states` its BlockStates (all carrying ssm and conv_tail, or all empty);
    `model` owns the weights (a capture is rebuilt when they change). The returned tensors are copies, never the
    graph's static buffers, so states kept by the caller stay valid after later replays.
    """
    from .block import BlockState

    has_state = all(s.ssm is not None and s.conv_tail is not None for s in states)
    empty = all(s.ssm is None and s.conv_tail is None for s in states)
    if not graphs_apply(first) or not (has_state or empty):
        return run(first, states)
    inputs = [first] + ([t for s in states for t in (s.ssm, s.conv_tail)] if has_state else [])
    key = (id(model), tag, tuple((tuple(t.shape), t.dtype, str(t.device)) for t in inputs), _autocast_key())
    n = len(states)

    def flat(first, *state_tensors):
        given = [BlockState(state_tensors[2 * i], state_tensors[2 * i + 1]) for i in range(n)] if has_state \
            else [BlockState() for _ in range(n)]
        out, new_states = run(first, given)
        return [out] + [t for s in new_states for t in (s.ssm, s.conv_tail)]

    static_out = _graph_for(_stack_graphs, key, model, flat, inputs)
    if static_out is None:
        return run(first, states)
    out = [t.clone() for t in static_out]
    return out[0], [BlockState(out[1 + 2 * i], out[2 + 2 * i]) for i in range(len(states))]


def graphed_first_piece(model: nn.Module, run, input_ids: torch.Tensor, state, **flags) -> tuple:
    """`run(input_ids, state, **flags)` (forward_stream's body) by graph replay when `state` is where a document
    starts (position 0, empty memory, no block states): a short document read whole, or a long one's first piece.

    The whole piece is one graph, the chunk step's ~40 small launches (lexical bag, memory search, GRU) included;
    later pieces replay only their block stacks (`graphed_blocks`). The carried chunk sum and supervisor state are
    graph inputs; the memory the caller passed gets the new chunks' keys, as `run` would add them.
    """
    from .block import BlockState
    from .memory import InProcessMemory
    from .model import ModelOutput, StreamState

    fresh = (state.position == 0 and isinstance(state.memory, InProcessMemory) and len(state.memory) == 0
             and state.lm_ready and all(b.ssm is None and b.conv_tail is None for b in state.blocks))
    if not fresh or not graphs_apply(input_ids):
        return run(input_ids, state, **flags)
    inputs = [input_ids, state.chunk_sum, state.supervisor, state.memory.keys]
    key = (id(model), "first piece", tuple((tuple(t.shape), t.dtype, str(t.device)) for t in inputs),
           tuple(sorted(flags.items())), _autocast_key())
    n_blocks = len(state.blocks)

    def whole_piece(ids, chunk_sum, supervisor, memory_keys):
        start = StreamState(0, [BlockState() for _ in range(n_blocks)], chunk_sum, supervisor,
                            InProcessMemory(memory_keys))
        out, new = run(ids, start, **flags)
        return (out.logits, out.chunk_embeddings, out.hidden, [(b.ssm, b.conv_tail) for b in new.blocks],
                new.chunk_sum, new.supervisor, start.memory.keys, new.position, new.lm_ready)

    static_out = _graph_for(_stack_graphs, key, model, whole_piece, inputs)
    if static_out is None:
        return run(input_ids, state, **flags)
    logits, embeddings, hidden, blocks, chunk_sum, supervisor, memory_keys, position, lm_ready = static_out

    def copy(t):
        return None if t is None else t.clone()
    state.memory.add(memory_keys.clone())
    new_state = StreamState(position, [BlockState(copy(ssm), copy(tail)) for ssm, tail in blocks], chunk_sum.clone(),
                            supervisor.clone(), state.memory, lm_ready)
    return ModelOutput(copy(logits), embeddings.clone(), hidden=copy(hidden)), new_state
