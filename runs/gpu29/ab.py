"""runs/gpu29: A/B in one process of changes to a block's GPU path (block.Block._forward_fused_residual), from
runs/gpu28/ab.py. Parts of a variant name, joined by '+':
  sgate   the S4D output kernel forms gelu(y) * silu(gate + bias) as it writes (y never written), and the mixer's
          output projection reads that channels-first (SSMMixer.gated_conv_channels_first,
          triton_block.linear_residual_channels_first): the gelu_gate pass gone;
  norm    the conv branch's and the MLP's RMSNorm formed in the epilogue of the GEMM before them (whole rows);
  cR      the MLP over row chunks of R tokens, the up projection into one reused (R, 2 hidden) buffer (L2-resident)
          and the gated down projection reading it; cRs: the same on two streams (ups on one, downs on the other,
          a ring of two buffers).
"base" is the committed path.
1. checks: sgate bit for bit against s4d_conv + gelu_gate; the new GEMM modes against float32 / the old ones;
2. kernels alone at 32K (20 calls in one CUDA graph over 4 rotating inputs);
3. the bench's whole-forward graph at 32K (AB_SHORT lengths too), AB_ROUNDS rounds;
4. outputs against base and float32; streamed against whole; 1M; a profile of the last (AB_PROFILE) variant."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch
import triton

from nonattn_core import block as block_module, cuda_graphs, triton_block, triton_ops, triton_s4d
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.bf16_weights import bf16_weight, linear
from nonattn_core.block import BlockState
from nonattn_core.s4d_chunked import plan_for

torch.backends.cuda.matmul.allow_tf32 = True
variants = os.environ.get("AB_VARIANTS", "base,sgate,sgate+norm,sgate+norm+c8192").split(",")
M1 = [v for v in os.environ.get("AB_1M_VARIANTS", f"base,{variants[-1]}").split(",") if v]
DOWN_SHAPE = tuple(int(v) for v in os.environ.get("AB_DOWN_SHAPE", "64,256,64,8,3").split(","))
committed_forward = block_module.Block._forward_fused_residual


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def gated_down_into(up, down, residual, out, shape):
    """out = residual + down(value * silu(gate)) for up (R, 2 hidden), all (R, .) row slices."""
    bm, bn, bk, warps, stages = shape
    N, K = down.weight.shape
    w = bf16_weight(down.weight)
    triton_block._linear_residual_kernel[(triton.cdiv(up.shape[0], bm), N // bn)](
        up, w, w, residual, out, up, w, w, out, 0.0, up.shape[0], 1, 0, 0, 0, 0, N=N, K=K, HAS_BIAS=False,
        GATED=True, CHANNELS_FIRST=False, MIXER=False, NORMED=False, BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk,
        num_warps=warps, num_stages=stages)


_streams = {}


def mlp_chunked(x, normed, mlp, rows, two_streams=False, shape=None):
    """x + mlp(normed) over row chunks of `rows` tokens (see the module docstring)."""
    shape = shape or DOWN_SHAPE
    D = x.shape[-1]
    x2, n2 = x.reshape(-1, D), normed.reshape(-1, D)
    out = torch.empty_like(x2)
    w_up = bf16_weight(mlp.up.weight).t()
    M = x2.shape[0]
    slots = 2 if two_streams else 1
    bufs = [torch.empty(min(rows, M), w_up.shape[1], device=x.device, dtype=torch.bfloat16) for _ in range(slots)]
    main = torch.cuda.current_stream()
    if two_streams:
        side = _streams.setdefault(x.device, torch.cuda.Stream(x.device))
        done = []
    for i, s in enumerate(range(0, M, rows)):
        e = min(M, s + rows)
        buf = bufs[i % slots][: e - s]
        if two_streams and i >= 2:
            main.wait_event(done[i - 2])
        torch.mm(n2[s:e], w_up, out=buf)
        if two_streams:
            ready = torch.cuda.Event()
            ready.record(main)
            side.wait_event(ready)
            with torch.cuda.stream(side):
                gated_down_into(buf, mlp.down, x2[s:e], out[s:e], shape)
                done.append(torch.cuda.Event())
                done[-1].record(side)
        else:
            gated_down_into(buf, mlp.down, x2[s:e], out[s:e], shape)
    if two_streams:
        main.wait_stream(side)
    return out.view(x.shape)


def make_forward(parts):
    """Block._forward_fused_residual with the named parts on (D a power of two)."""
    if parts == {"base"}:
        return committed_forward
    chunk = next((p for p in parts if p.startswith("c")), None)

    def forward(self, x, state):
        u = triton_ops.rms_norm_channels_first(x, self.norm_ssm.weight, self.norm_ssm.eps)
        norm_conv = self.norm_conv if "norm" in parts else None
        if "sgate" in parts:
            gated, ssm_state = self.ssm.gated_conv_channels_first(u, state.ssm)
            x = triton_block.linear_residual_channels_first(gated, self.ssm.out_proj, x, norm=norm_conv)
        else:
            y, gate, ssm_state = self.ssm.conv_and_gate_channels_first(u, state.ssm)
            gated = triton_ops.gelu_gate(y, gate.permute(1, 0, 2), self.ssm.gate_proj.bias, gate_channels_first=True)
            x = triton_block.linear_residual(gated, self.ssm.out_proj, x, norm=norm_conv)
        x, normed = x if norm_conv is not None else (x, self.norm_conv(x))
        activated, conv_tail = self.conv.activated_taps(normed, state.conv_tail)
        if "norm" in parts:
            x, normed = triton_block.linear_residual(activated, self.conv.out_proj, x, norm=self.norm_mlp)
        else:
            x = triton_block.linear_residual(activated, self.conv.out_proj, x)
            normed = self.norm_mlp(x)
        if chunk:
            x = mlp_chunked(x, normed, self.mlp, int(chunk[1:].rstrip("s")), chunk.endswith("s"))
        else:
            x = triton_block.linear_residual(linear(normed, self.mlp.up.weight), self.mlp.down, x, gated=True)
        return x, BlockState(ssm_state, conv_tail)
    return forward


def setup(name):
    block_module.Block._forward_fused_residual = make_forward(set(name.split("+")))
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


def timed(label, fn, inputs):
    try:
        us = graphed_us(fn, inputs)
    except Exception as error:
        print(f"{label} | failed: {str(error).splitlines()[0][:150]}", flush=True)
        return None
    print(f"{label} | {us:.1f}", flush=True)
    return us


model = load_model("cuda")
blk = model.lower[0]
D = blk.mlp.down.out_features
plan = plan_for(blk.ssm.conv, torch.device("cuda"), triton_s4d.BLOCK, 16)
print("## 1. checks", flush=True)
with torch.inference_mode():
    for B, L in [(1, 5), (2, 300), (1, 4099), (2, 32768 + 5)]:
        u = torch.randn(B, D, L, device="cuda").bfloat16()
        gate = torch.randn(B, D, L, device="cuda").bfloat16()
        bias = blk.ssm.gate_proj.bias
        for st in (None, torch.randn(B, D, 16, device="cuda", dtype=torch.complex64)):
            y, final = triton_s4d.s4d_conv(plan, u, st)
            fused, final2 = triton_s4d.s4d_conv(plan, u, st, gate=gate, gate_bias=bias)
            before = triton_ops.gelu_gate(y, gate, bias, gate_channels_first=True)        # (B, L, D)
            print(f"sgate B={B} L={L} state {st is not None}: equal {torch.equal(fused.transpose(1, 2), before)} "
                  f"max diff {(fused.transpose(1, 2).float() - before.float()).abs().max().item():.3e}, final equal "
                  f"{torch.equal(final, final2)}", flush=True)
        x = torch.randn(B, L, D, device="cuda").bfloat16()
        a_cf = torch.randn(B, D, L, device="cuda").bfloat16()
        out = triton_block.linear_residual_channels_first(a_cf, blk.ssm.out_proj, x)
        ref = triton_block.linear_residual_reference(a_cf.transpose(1, 2), blk.ssm.out_proj, x)
        plain = triton_block.linear_residual(a_cf.transpose(1, 2).contiguous(), blk.ssm.out_proj, x)
        print(f"channels-first GEMM B={B} L={L}: vs float32 {rel(out, ref):.2e}, vs row-major kernel "
              f"{rel(out, plain):.2e} equal {torch.equal(out, plain)}", flush=True)
        out2, normed = triton_block.linear_residual_channels_first(a_cf, blk.ssm.out_proj, x, norm=blk.norm_conv)
        rn = triton_ops.rms_norm(out2, blk.norm_conv.weight, blk.norm_conv.eps)
        print(f"norm epilogue B={B} L={L}: out equal {torch.equal(out2, out)}, normed vs rms_norm {rel(normed, rn):.2e} "
              f"equal {torch.equal(normed, rn)}; vs float32 norm "
              f"{rel(normed, triton_ops.rms_norm_reference(out2, blk.norm_conv.weight, blk.norm_conv.eps)):.2e}",
              flush=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            for rows in (1000, 4096):
                nx = torch.randn(B, L, D, device="cuda").bfloat16()
                whole = triton_block.linear_residual(linear(nx, blk.mlp.up.weight), blk.mlp.down, x, gated=True)
                chunked = mlp_chunked(x, nx, blk.mlp, rows)
                chunked2 = mlp_chunked(x, nx, blk.mlp, rows, True)
                torch.cuda.synchronize()
                print(f"MLP chunks of {rows} B={B} L={L}: vs whole {rel(chunked, whole):.2e} equal "
                      f"{torch.equal(chunked, whole)}; two streams equal {torch.equal(chunked2, whole)}", flush=True)

print("## 2. kernels alone at 32K, us per call in a graph of 20 calls, 4 rotating inputs", flush=True)
L = 32768
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    xs = [torch.randn(1, L, D, device="cuda").bfloat16() for _ in range(4)]
    us_ = [torch.randn(1, D, L, device="cuda").bfloat16() for _ in range(4)]
    gates = [torch.randn(1, D, L, device="cuda").bfloat16() for _ in range(4)]
    ins = list(zip(us_, gates, xs))
    bias = blk.ssm.gate_proj.bias

    def s4d_then_gate(u, g, x):
        y, _ = triton_s4d.s4d_conv(plan, u, None)
        return triton_ops.gelu_gate(y, g, bias, gate_channels_first=True)
    timed("s4d | s4d_conv + gelu_gate", s4d_then_gate, ins)
    timed("s4d | s4d_conv alone", lambda u, g, x: triton_s4d.s4d_conv(plan, u, None), ins)
    timed("s4d | s4d_conv gated", lambda u, g, x: triton_s4d.s4d_conv(plan, u, None, gate=g, gate_bias=bias), ins)
    rowmajor = [(u.transpose(1, 2).contiguous(), g, x) for u, g, x in ins]
    timed("gemm | row-major linear_residual (128,128,64,8,3)",
          lambda a, g, x: triton_block.linear_residual(a, blk.ssm.out_proj, x), rowmajor)
    for shape in [(128, 128, 64, 8, 3), (128, 128, 32, 4, 4), (128, 256, 32, 8, 3), (128, 256, 64, 8, 3),
                  (64, 256, 64, 4, 3), (128, 64, 64, 4, 4), (64, 128, 64, 4, 4)]:
        timed(f"gemm | channels-first {shape}",
              lambda a, g, x: triton_block.linear_residual_channels_first(a, blk.ssm.out_proj, x, *shape), ins)
    timed("norm | row-major linres + rms_norm",
          lambda a, g, x: blk.norm_conv(triton_block.linear_residual(a, blk.ssm.out_proj, x)), rowmajor)
    for shape in [(128, 256, 64, 8, 3), (128, 256, 32, 8, 3), (64, 256, 64, 4, 3), (64, 256, 64, 8, 3)]:
        timed(f"norm | row-major linres with norm {shape}",
              lambda a, g, x: triton_block.linear_residual(a, blk.ssm.out_proj, x, *shape, norm=blk.norm_conv),
              rowmajor)
        timed(f"norm | channels-first with norm {shape}",
              lambda a, g, x: triton_block.linear_residual_channels_first(a, blk.ssm.out_proj, x, *shape,
                                                                          norm=blk.norm_conv), ins)
    timed("norm | rms_norm alone", lambda a, g, x: blk.norm_conv(x), rowmajor)
    mlp_in = [(triton_ops.rms_norm(x, blk.norm_mlp.weight, blk.norm_mlp.eps), x) for x in xs]
    timed("mlp | up + gated down (committed)",
          lambda n, x: triton_block.linear_residual(linear(n, blk.mlp.up.weight), blk.mlp.down, x, gated=True), mlp_in)
    for rows in (2048, 4096, 8192, 16384):
        for shape in [(64, 256, 64, 8, 3), (64, 128, 64, 4, 4), (128, 256, 64, 8, 4), (32, 256, 64, 4, 3)]:
            for two in (False, True):
                timed(f"mlp | chunks {rows} {'two streams' if two else 'one stream'} down {shape}",
                      lambda n, x: mlp_chunked(x, n, blk.mlp, rows, two, shape), mlp_in)


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
            print(f"round {round_} | {length} | {name:20s} | graph {graph_ms(ours_forward(model, length, 1 << 20), 20):.3f}",
                  flush=True)

print("## 3. whole forward at 32K: bench graph ms", flush=True)
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
outputs = {}
for round_ in range(1, int(os.environ.get("AB_ROUNDS", "3")) + 1):
    for name in variants:
        setup(name)
        g = graph_ms(ours_forward(model, 32768, 1 << 20), 20)
        print(f"round {round_} | {name:20s} | graph {g:.3f}", flush=True)
        if round_ == 1:
            outputs[name] = forward(ids)
setup("base")
fp32 = forward(ids, autocast=False)
print("## 4. outputs at 32K", flush=True)
for name, out in outputs.items():
    first = outputs[variants[0]]
    print(f"{name:20s} vs {variants[0]}: hidden {rel(out[0], first[0]):.2e}, embeddings {rel(out[1], first[1]):.2e}"
          f", supervisor {rel(out[2], first[2]):.2e} | vs float32: hidden {rel(out[0], fp32[0]):.2e}, "
          f"embeddings {rel(out[1], fp32[1]):.2e}", flush=True)
for name in [variants[0], variants[-1]]:
    setup(name)
    streamed = forward(ids, pieces=5000)
    print(f"{name:20s}: streamed in pieces of 5000 vs its whole: hidden {rel(streamed[0], outputs[name][0]):.2e}, "
          f"embeddings {rel(streamed[1], outputs[name][1]):.2e}", flush=True)

print("## 1M tokens, the model's own path (ms, median of 3)", flush=True)
for round_ in (1, 2):
    for name in M1:
        setup(name)
        print(f"round {round_} | 1M | {name:20s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}",
              flush=True)

setup(os.environ.get("AB_PROFILE", variants[-1]))
print(f"## profile: {os.environ.get('AB_PROFILE', variants[-1])}", flush=True)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu29/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
