"""runs/gpu28: A/B in one process of changes to a block's GPU path (block.Block._forward_fused_residual):
"micro" (the S4D scan kernel reads the carried state and writes the final state as they lie, no pad / contiguous
copies; the dilated taps kernel reads no zero tail at a document's start and writes the next piece's tail itself:
three small launches a block fewer; without it the HEAD versions base_triton_ops.py / base_triton_s4d.py are
patched in), "gate" (from block.MIXER_GATE_MIN_TOKENS tokens a piece on, the SSM mixer's gelu(y) * silu(gate +
bias) formed in its output projection's A load: triton_block.mixer_gate_residual), "mlp" (the gated MLP as two
Triton GEMMs, the up projection normalising its rows first and writing value * silu(gate):
triton_block.gated_mlp_residual: not kept, needs mlp_not_kept.diff applied). "base" is none of them (the path at
bef63f4). Calls 2-4 measured a one-kernel MLP, the norm in the up GEMM's K loop, the taps normalising their input
(taps_norm_not_kept.diff), the gate at every length.
1. each new kernel against float32 torch (fresh random inputs, several lengths, batch 2); micro against HEAD;
2. each kernel alone, 20 calls captured in one CUDA graph over 4 rotating inputs, at 32K tokens;
3. the bench's whole-forward graph at 32K (and AB_SHORT lengths), each variant AB_ROUNDS times;
4. outputs against base and float32; streamed pieces against whole; 1M; a profile of the last variant."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch

import importlib.util

from nonattn_core import block as block_module, cuda_graphs, triton_block, triton_ops, triton_s4d
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.bf16_weights import linear
from nonattn_core.block import BlockState
from torch.profiler import ProfilerActivity, profile  # noqa: F401

torch.backends.cuda.matmul.allow_tf32 = True
variants = os.environ.get("AB_VARIANTS", "base,micro,micro+gate").split(",")
M1 = [v for v in os.environ.get("AB_1M_VARIANTS", ",".join(variants)).split(",") if v]


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def load_base(name):
    spec = importlib.util.spec_from_file_location(f"nonattn_core.base_{name}", f"runs/gpu28/base_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


base_ops, base_s4d = load_base("triton_ops"), load_base("triton_s4d")
new_taps, new_s4d_conv = triton_ops.dilated_taps_gelu, triton_s4d.s4d_conv


def make_forward(parts):
    """Block._forward_fused_residual with the named parts on (D a power of two)."""
    def forward(self, x, state):
        u = triton_ops.rms_norm_channels_first(x, self.norm_ssm.weight, self.norm_ssm.eps)
        y, gate, ssm_state = self.ssm.conv_and_gate_channels_first(u, state.ssm)
        if "gate" in parts and x.shape[0] * x.shape[1] >= block_module.MIXER_GATE_MIN_TOKENS:
            x = triton_block.mixer_gate_residual(y, gate, self.ssm.gate_proj.bias, self.ssm.out_proj, x)
        else:
            gated = triton_ops.gelu_gate(y, gate.permute(1, 0, 2), self.ssm.gate_proj.bias, gate_channels_first=True)
            x = triton_block.linear_residual(gated, self.ssm.out_proj, x)
        activated, conv_tail = self.conv.activated_taps(self.norm_conv(x), state.conv_tail)
        x = triton_block.linear_residual(activated, self.conv.out_proj, x)
        if "mlp" in parts:
            x = triton_block.gated_mlp_residual(x, self.norm_mlp, self.mlp)
        elif "upT" in parts:                                           # normed @ W^T, W^T kept (K, N) contiguous
            normed = self.norm_mlp(x)
            up = torch.mm(normed.view(-1, normed.shape[-1]), transposed(self.mlp.up.weight))
            x = triton_block.linear_residual(up.view(*x.shape[:-1], -1), self.mlp.down, x, gated=True)
        else:
            x = triton_block.linear_residual(linear(self.norm_mlp(x), self.mlp.up.weight), self.mlp.down, x,
                                             gated=True)
        return x, BlockState(ssm_state, conv_tail)
    return forward


_transposed = {}


def transposed(weight):
    if weight not in _transposed:
        _transposed[weight] = weight.detach().t().contiguous().to(torch.bfloat16)
    return _transposed[weight]


def setup(name):
    parts = set(name.split("+"))
    torch.backends.cuda.preferred_blas_library("cublaslt" if "lt" in parts else "cublas")
    block_module.Block._forward_fused_residual = make_forward(parts)
    triton_ops.dilated_taps_gelu = new_taps if "micro" in parts else base_ops.dilated_taps_gelu
    triton_s4d.s4d_conv = new_s4d_conv if "micro" in parts else base_s4d.s4d_conv
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._graphs.clear()
    cuda_graphs._seen.clear()


def graphed_us(fn, inputs, calls=20):
    """us per call of fn(*inputs[i % len]) for `calls` calls captured in one CUDA graph (median of 10 replays)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for args in inputs:
            fn(*args)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for i in range(calls):
            fn(*inputs[i % len(inputs)])
    ms = cuda_time(graph.replay, 10, 2)
    del graph
    return ms * 1e3 / calls


model = load_model("cuda")
blk = model.lower[0]
D = blk.mlp.down.out_features
print("## 1. new kernels vs float32 torch (rel err; bound 1e-2)", flush=True)
with torch.inference_mode():
    for B, L in [(1, 1), (2, 300), (1, 4099), (2, 32768 + 5)]:
        x = torch.randn(B, L, D, device="cuda").bfloat16()
        y = torch.randn(B, D, L, device="cuda").bfloat16()
        gate = torch.randn(D, B, L, device="cuda").bfloat16()
        print(f"B={B} L={L}: mixer gate + out proj + residual {rel(triton_block.mixer_gate_residual(y, gate, blk.ssm.gate_proj.bias, blk.ssm.out_proj, x), triton_block.mixer_gate_residual_reference(y, gate, blk.ssm.gate_proj.bias, blk.ssm.out_proj, x)):.2e}",
              flush=True)

from nonattn_core.multires_conv import MultiResolutionConv  # noqa: E402
from nonattn_core.s4d_chunked import plan_for  # noqa: E402
conv = MultiResolutionConv(D, 3, (1, 2, 4, 8, 16)).cuda()
with torch.no_grad():
    for B, L in [(1, 5), (2, 300), (1, 32768)]:
        x = torch.randn(B, L, D, device="cuda").bfloat16()
        for tail in (None, torch.randn(B, D, conv.tail_len, device="cuda").bfloat16()):
            a, b = new_taps(conv, x, tail, x.dtype), base_ops.dilated_taps_gelu(conv, x, tail, x.dtype)
            print(f"micro taps B={B} L={L} tail {tail is not None}: out equal {torch.equal(a[0], b[0])}, "
                  f"new tail equal {torch.equal(a[1], b[1])} {tuple(a[1].shape)} contiguous {a[1].is_contiguous()}")
        plan = plan_for(blk.ssm.conv, torch.device("cuda"), triton_s4d.BLOCK, 16)
        u = torch.randn(B, D, L, device="cuda").bfloat16()
        for st in (None, torch.randn(B, D, 16, device="cuda", dtype=torch.complex64)):
            a, b = new_s4d_conv(plan, u, st), base_s4d.s4d_conv(plan, u, st)
            print(f"micro s4d B={B} L={L} state {st is not None}: y equal {torch.equal(a[0], b[0])}, final equal "
                  f"{torch.equal(a[1], b[1])} {tuple(a[1].shape)} contiguous {a[1].is_contiguous()}", flush=True)

print("## 2. kernels alone at 32K, us per call in a graph of 20 calls, 4 rotating inputs", flush=True)
L = 32768
xs = [(torch.randn(1, L, D, device="cuda").bfloat16(),) for _ in range(4)]
best = {}
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    gins = [(torch.randn(1, D, L, device="cuda").bfloat16(), torch.randn(D, 1, L, device="cuda").bfloat16(),
             x) for (x,) in xs]

    def gate_before(y, gate, x):
        gated = triton_ops.gelu_gate(y, gate.permute(1, 0, 2), blk.ssm.gate_proj.bias, gate_channels_first=True)
        return triton_block.linear_residual(gated, blk.ssm.out_proj, x)
    print(f"gate | before: gelu_gate + linear_residual | {graphed_us(gate_before, gins):.1f}", flush=True)
    for shape in [(128, 256, 32, 8, 3)]:
        try:
            us = graphed_us(lambda y, g, x: triton_block.mixer_gate_residual(y, g, blk.ssm.gate_proj.bias,
                                                                              blk.ssm.out_proj, x, *shape), gins)
        except Exception as error:
            print(f"gate | {shape} | failed: {str(error).splitlines()[0][:150]}", flush=True)
            continue
        print(f"gate | {shape} | {us:.1f}", flush=True)
        best.setdefault("gate", (us, shape))
        best["gate"] = min(best["gate"], (us, shape))

print(f"best: {best}", flush=True)
print(f"whole-forward variants use: gate {triton_block.SHAPES['mixer']}", flush=True)


def forward(ids, autocast=True, pieces=None):
    """hidden and chunk embeddings of ids (1, L), read whole or in pieces of `pieces` tokens."""
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        state, hs, es = model.init_state(1), [], []
        step = pieces or ids.shape[1]
        for s in range(0, ids.shape[1], step):
            out, state = model.forward_stream(ids[:, s:s + step], state, flush=s + step >= ids.shape[1],
                                              return_hidden=True, return_logits=False)
            hs.append(out.hidden.float())
            es.append(out.chunk_embeddings.float())
    return torch.cat(hs, 1), torch.cat(es, 1), state.supervisor.float()


for length in [int(n) for n in os.environ.get("AB_SHORT", "").split(",") if n]:
    print(f"## 3. whole forward at {length}: bench graph ms", flush=True)
    for round_ in range(1, int(os.environ.get("AB_ROUNDS", "3")) + 1):
        for name in variants:
            setup(name)
            print(f"round {round_} | {length} | {name:16s} | graph {graph_ms(ours_forward(model, length, 1 << 20), 20):.3f}",
                  flush=True)

print("## 3. whole forward at 32K: bench graph ms, the model's own path (eager, median of 20)", flush=True)
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
outputs = {}
for round_ in range(1, int(os.environ.get("AB_ROUNDS", "3")) + 1):
    for name in variants:
        setup(name)
        g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        eager = cuda_time(ours_forward(model, 32768, 1 << 20), 20, 3)
        print(f"round {round_} | {name:16s} | graph {g:.3f} | eager {eager:.3f}", flush=True)
        if round_ == 1:
            outputs[name] = forward(ids)
print("## launches per 32K forward graph replay (profiled once per variant)", flush=True)
for name in variants:
    setup(name)
    run = ours_forward(model, 32768, 1 << 20)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        run(); run()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        run()
    graph.replay()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        graph.replay()
        torch.cuda.synchronize()
    prof.export_chrome_trace("/tmp/one_replay.json")
    events = [e for e in json.load(open("/tmp/one_replay.json"))["traceEvents"]
              if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    gemms = sorted(round(e["dur"], 1) for e in events if "nvjet" in e["name"])
    print(f"{name:16s}: {len(events)} device events, {sum(e['cat'] == 'gpu_memset' for e in events)} memsets, "
          f"{len(gemms)} cuBLAS kernels, the largest (us): {gemms[-8:]}", flush=True)
    del graph
setup("base")
fp32 = forward(ids, autocast=False)
print("## 4. outputs at 32K", flush=True)
for name, out in outputs.items():
    first = outputs[variants[0]]
    print(f"{name:16s} vs {variants[0]}: hidden {rel(out[0], first[0]):.2e}, embeddings {rel(out[1], first[1]):.2e}"
          f", supervisor {rel(out[2], first[2]):.2e} | vs float32: hidden {rel(out[0], fp32[0]):.2e}, "
          f"embeddings {rel(out[1], fp32[1]):.2e}", flush=True)
for name in [variants[0], variants[-1]]:
    setup(name)
    streamed = forward(ids, pieces=5000)
    print(f"{name:16s}: streamed in pieces of 5000 vs its whole: hidden {rel(streamed[0], outputs[name][0]):.2e}, "
          f"embeddings {rel(streamed[1], outputs[name][1]):.2e}", flush=True)

print("## 1M tokens, the model's own path (ms, median of 3)", flush=True)
for round_ in (1, 2):
    for name in M1:
        setup(name)
        print(f"round {round_} | 1M | {name:16s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}",
              flush=True)

setup(os.environ.get("AB_PROFILE", variants[-1]))
print(f"## profile: {os.environ.get('AB_PROFILE', variants[-1])}", flush=True)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu27/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
