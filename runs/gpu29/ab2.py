"""runs/gpu29, call 2: knobs and one new MLP form, alone at 32K (and 24K / 8K, the upper blocks' spans), then the
whole forward with the winners picked in this same run.
  a. the S4D kernels' tile (M blocks), programs per row and warps (triton_s4d.s4d_conv's arguments);
  b. gelu_gate's tile; the dilated taps' tile, steps and warps;
  c. the MLP up projection through other cuBLAS entries (bmm, addmm with a zero bias): the memset + ~5 us wait?
  d. "tup": the MLP up projection as a Triton GEMM writing value * silu(gate) (32 MB instead of 64): plain tl.dot
     tiles, and persistent TMA-descriptor tiles (flatten / warp_specialize), then the down projection reading it.
Whole forward: base, "knobs" (the fastest a/b settings at 32K), "tup" (the fastest d), both."""
import collections  # noqa: F401 (the profile exec-ed at the end)
import json  # noqa: F401
import os
import sys

import torch
import triton
import triton.language as tl
from torch.profiler import ProfilerActivity, profile

from nonattn_core import block as block_module, cuda_graphs, triton_block, triton_ops, triton_s4d
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward
from nonattn_core.bf16_weights import bf16_weight, linear
from nonattn_core.s4d_chunked import plan_for

try:
    from triton.tools.tensor_descriptor import TensorDescriptor
except ImportError as error:
    print(f"no TensorDescriptor: {error}")
    TensorDescriptor = None

torch.backends.cuda.matmul.allow_tf32 = True
committed_forward = block_module.Block._forward_fused_residual
original = dict(s4d=triton_s4d.s4d_conv, taps=triton_ops.dilated_taps_gelu, gelu_gate=triton_ops.gelu_gate)


def rel(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def graphed_us(fn, inputs, calls=20):
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


def timed(label, fn, inputs, results=None, key=None):
    try:
        us = graphed_us(fn, inputs)
    except Exception as error:
        print(f"{label} | failed: {type(error).__name__} {str(error).splitlines()[0][:150] if str(error) else ''}",
              flush=True)
        return None
    print(f"{label} | {us:.1f}", flush=True)
    if results is not None:
        results.setdefault(label.split(" | ")[0], []).append((us, key))
    return us


# ---- d. the up projection with value * silu(gate) in its epilogue ------------------------------------------------
@triton.jit
def _up_gated_kernel(a_ptr, w_ptr, out_ptr, M, H: tl.constexpr, K: tl.constexpr, BLOCK_M: tl.constexpr,
                     BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    rows = (tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)).to(tl.int64)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    live = (rows < M)[:, None]
    acc_v = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
    acc_g = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
    for k in tl.range(0, K, BLOCK_K):
        ks = k + tl.arange(0, BLOCK_K)
        a = tl.load(a_ptr + rows[:, None] * K + ks[None, :], mask=live, other=0.0)
        acc_v = tl.dot(a, tl.load(w_ptr + cols[None, :] * K + ks[:, None]), acc_v)
        acc_g = tl.dot(a, tl.load(w_ptr + (H + cols)[None, :] * K + ks[:, None]), acc_g)
    value = acc_v.to(tl.bfloat16).to(tl.float32)                       # rounded as the up projection wrote them
    gate = acc_g.to(tl.bfloat16).to(tl.float32)
    tl.store(out_ptr + rows[:, None] * H + cols[None, :], (value * gate * tl.sigmoid(gate)).to(tl.bfloat16),
             mask=live)


@triton.jit
def _up_gated_tma_kernel(a_desc, wv_desc, wg_desc, out_desc, M, H: tl.constexpr, K: tl.constexpr,
                         BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, NUM_SMS: tl.constexpr,
                         FLATTEN: tl.constexpr, WS: tl.constexpr):
    n_m = tl.cdiv(M, BLOCK_M)
    n_n = H // BLOCK_N
    for tile in tl.range(tl.program_id(0), n_m * n_n, NUM_SMS, flatten=FLATTEN, warp_specialize=WS):
        m0 = (tile // n_n) * BLOCK_M
        n0 = (tile % n_n) * BLOCK_N
        acc_v = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
        acc_g = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
        for ki in range(K // BLOCK_K):
            a = a_desc.load([m0, ki * BLOCK_K])
            acc_v = tl.dot(a, wv_desc.load([n0, ki * BLOCK_K]).T, acc_v)
            acc_g = tl.dot(a, wg_desc.load([n0, ki * BLOCK_K]).T, acc_g)
        value = acc_v.to(tl.bfloat16).to(tl.float32)
        gate = acc_g.to(tl.bfloat16).to(tl.float32)
        out_desc.store([m0, n0], (value * gate * tl.sigmoid(gate)).to(tl.bfloat16))


NUM_SMS = torch.cuda.get_device_properties(0).multi_processor_count


def up_gated(normed, w_up, shape):
    """value * silu(gate) (M, H) bf16 of normed (M, K) @ w_up (2H, K)^T."""
    kind, bm, bn, bk, warps, stages, *flags = shape
    M, K = normed.shape
    H = w_up.shape[0] // 2
    out = torch.empty(M, H, device=normed.device, dtype=torch.bfloat16)
    if kind == "plain":
        _up_gated_kernel[(triton.cdiv(M, bm), H // bn)](normed, w_up, out, M, H=H, K=K, BLOCK_M=bm, BLOCK_N=bn,
                                                       BLOCK_K=bk, num_warps=warps, num_stages=stages)
        return out
    flatten, ws = flags
    a_desc = TensorDescriptor.from_tensor(normed, [bm, bk])
    wv_desc = TensorDescriptor.from_tensor(w_up[:H], [bn, bk])
    wg_desc = TensorDescriptor.from_tensor(w_up[H:], [bn, bk])
    out_desc = TensorDescriptor.from_tensor(out, [bm, bn])
    tiles = triton.cdiv(M, bm) * (H // bn)
    _up_gated_tma_kernel[(min(NUM_SMS, tiles),)](a_desc, wv_desc, wg_desc, out_desc, M, H=H, K=K, BLOCK_M=bm,
                                                 BLOCK_N=bn, BLOCK_K=bk, NUM_SMS=NUM_SMS, FLATTEN=flatten, WS=ws,
                                                 num_warps=warps, num_stages=stages)
    return out


def mlp_tup(x, normed, mlp, shape, down_shape):
    D = x.shape[-1]
    hidden = up_gated(normed.reshape(-1, D), bf16_weight(mlp.up.weight), shape)
    return triton_block.linear_residual(hidden, mlp.down, x, False, *down_shape)


model = load_model("cuda")
blk = model.lower[0]
D = blk.mlp.down.out_features
plan = plan_for(blk.ssm.conv, torch.device("cuda"), triton_s4d.BLOCK, 16)
results = {}

print("## d. checks: Triton gated up + down against the committed MLP and float32", flush=True)
UP_SHAPES = [("plain", 128, 64, 64, 8, 3), ("plain", 128, 128, 64, 8, 3), ("plain", 64, 128, 64, 4, 3),
             ("plain", 128, 64, 128, 8, 2), ("plain", 128, 128, 256, 8, 1), ("plain", 64, 64, 256, 4, 1)]
if TensorDescriptor is not None:
    for bm, bn, bk, warps, stages in [(128, 64, 64, 8, 4), (128, 128, 64, 8, 3), (128, 64, 128, 8, 3),
                                      (64, 128, 64, 4, 4), (128, 128, 128, 8, 2)]:
        for flatten, ws in [(False, False), (True, False), (False, True), (True, True)]:
            UP_SHAPES.append(("tma", bm, bn, bk, warps, stages, flatten, ws))
DOWN_SHAPES = [(128, 256, 64, 8, 4), (128, 128, 64, 8, 3), (128, 256, 64, 8, 3)]
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    for B, L in [(1, 5), (2, 300), (1, 4099)]:
        x = torch.randn(B, L, D, device="cuda").bfloat16()
        normed = blk.norm_mlp(x)
        committed = triton_block.linear_residual(linear(normed, blk.mlp.up.weight), blk.mlp.down, x, gated=True)
        value, gate = torch.nn.functional.linear(normed.float(), blk.mlp.up.weight.float()).chunk(2, -1)
        ref = x.float() + torch.nn.functional.linear(value * torch.nn.functional.silu(gate), blk.mlp.down.weight.float())
        for shape in UP_SHAPES[:2] + UP_SHAPES[6:8] + UP_SHAPES[9:10]:
            try:
                out = mlp_tup(x, normed, blk.mlp, shape, DOWN_SHAPES[0])
                print(f"tup {shape} B={B} L={L}: vs committed {rel(out, committed):.2e}, vs float32 {rel(out, ref):.2e}"
                      f" (committed vs float32 {rel(committed, ref):.2e})", flush=True)
            except Exception as error:
                print(f"tup {shape} B={B} L={L}: failed {type(error).__name__} {str(error)[:200]}", flush=True)

print("## alone, us per call in a graph of 20 calls, 4 rotating inputs", flush=True)
with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
    for L in (32768, 24576, 8192):
        xs = [torch.randn(1, L, D, device="cuda").bfloat16() for _ in range(4)]
        us_ = [torch.randn(1, D, L, device="cuda").bfloat16() for _ in range(4)]
        gates = [torch.randn(1, D, L, device="cuda").bfloat16() for _ in range(4)]
        bias = blk.ssm.gate_proj.bias
        # a. S4D
        for M, ppr, warps in [(128, 2, 8), (64, 1, 4), (64, 2, 4), (64, 1, 8), (128, 1, 8), (32, 1, 4), (64, 4, 4),
                              (128, 1, 4), (32, 2, 4)]:
                if True:
                    if M * triton_s4d.BLOCK * ppr > 2 * L and ppr > 1:
                        continue
                    timed(f"s4d {L} | M {M} ppr {ppr} warps {warps}",
                          lambda u: triton_s4d.s4d_conv(plan, u, None, M, ppr, warps), [(u,) for u in us_],
                          results, (M, ppr, warps))
        # b. gelu_gate
        ys = [(u, g) for u, g in zip(us_, gates)]
        for bl, bd, warps in [(64, 64, 4), (128, 32, 4), (256, 32, 4), (32, 128, 4), (128, 32, 2), (256, 32, 8),
                              (64, 32, 2), (128, 16, 4)]:
            def gg(y, g, bl=bl, bd=bd, warps=warps):
                out = torch.empty(1, L, D, device="cuda", dtype=torch.bfloat16)
                triton_ops._gelu_gate_kernel[(triton.cdiv(L, bl), triton.cdiv(D, bd), 1)](
                    y, g, bias, out, L, D, y.stride(0), y.stride(1), g.stride(0), g.stride(1), g.stride(2),
                    HAS_BIAS=True, BLOCK_L=bl, BLOCK_D=bd, num_warps=warps)
                return out
            timed(f"gelu_gate {L} | {bl} x {bd} warps {warps}", gg, ys, results, (bl, bd, warps))
        for bl, bd, warps, steps in [(8, 128, 4, 4), (32, 64, 4, 2), (32, 64, 4, 1), (32, 64, 4, 4), (64, 64, 4, 1),
                                     (32, 128, 8, 2), (16, 64, 4, 2), (32, 32, 4, 2), (64, 32, 4, 1), (32, 64, 2, 2),
                                     (32, 64, 8, 2), (64, 64, 8, 1), (16, 128, 8, 2), (16, 64, 4, 4)]:
            timed(f"taps {L} | {bl} x {bd} warps {warps} steps {steps}",
                  lambda x: original["taps"](blk.conv, x, None, x.dtype, bl, bd, warps, steps), [(x,) for x in xs],
                  results, (bl, bd, warps, steps))
        if L != 32768:
            continue
        # c. cuBLAS entries for the up projection, and d.
        normeds = [(blk.norm_mlp(x), x) for x in xs]
        w = bf16_weight(blk.mlp.up.weight)
        zero = torch.zeros(w.shape[0], device="cuda", dtype=torch.bfloat16)
        entries = {"F.linear": lambda n, x: torch.nn.functional.linear(n, w),
                   "bmm": lambda n, x: torch.bmm(n, w.t().unsqueeze(0)),
                   "mm": lambda n, x: torch.mm(n[0], w.t()),
                   "addmm zero bias": lambda n, x: torch.addmm(zero, n[0], w.t()),
                   "linear zero bias": lambda n, x: torch.nn.functional.linear(n, w, zero)}
        for name, fn in entries.items():
            timed(f"up {name}", fn, normeds)
            try:
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    fn(*normeds[0])
                    torch.cuda.synchronize()
                names = [e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
                print(f"up {name}: device events {[n[:60] for n in names]}", flush=True)
            except Exception as error:
                print(f"up {name}: profile failed {str(error)[:100]}", flush=True)
        timed("mlp | committed", lambda n, x: triton_block.linear_residual(linear(n, blk.mlp.up.weight), blk.mlp.down,
                                                                          x, gated=True), normeds)
        for shape in UP_SHAPES:
            timed(f"upgated | {shape}", lambda n, x: up_gated(n[0], w, shape), normeds, results, shape)
        hid = [(torch.randn(L, 512, device="cuda").bfloat16(), x) for x in xs]
        for ds in DOWN_SHAPES:
            timed(f"down | {ds}", lambda h, x: triton_block.linear_residual(h, blk.mlp.down, x, False, *ds), hid,
                  results, ds)

best = {k: min(v, key=lambda t: t[0]) for k, v in results.items()}
print("## best:", {k: (round(v[0], 1), v[1]) for k, v in best.items()}, flush=True)

# whole forward
UP = best.get("upgated", (None, None))[1]
DOWN = best.get("down", (None, None))[1]


def setup(name):
    parts = set(name.split("+"))
    triton_s4d.s4d_conv = original["s4d"]
    triton_ops.dilated_taps_gelu = original["taps"]
    block_module.Block._forward_fused_residual = committed_forward
    if "knobs" in parts:
        triton_s4d.s4d_conv = s4d_knobs
        triton_ops.dilated_taps_gelu = taps_knobs
    if "tup" in parts:
        block_module.Block._forward_fused_residual = tup_forward
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._graphs.clear()
    cuda_graphs._seen.clear()


def nearest(kind, L):
    """the best setting swept at the length nearest L (8K, 24K, 32K), None above 48K (the committed defaults)."""
    if L > 49152:
        return None
    swept = min((8192, 24576, 32768), key=lambda n: abs(n - L))
    return best.get(f"{kind} {swept}", (None, None))[1]


def s4d_knobs(plan, u, state=None, *args, **kwargs):
    knob = nearest("s4d", u.shape[0] * u.shape[2])
    if knob is None or args:
        return original["s4d"](plan, u, state, *args, **kwargs)
    M, ppr, warps = knob
    return original["s4d"](plan, u, state, M, ppr, warps, **kwargs)


def taps_knobs(conv, x, tail, out_dtype, *args, **kwargs):
    knob = nearest("taps", x.shape[0] * x.shape[1])
    if knob is None or args:
        return original["taps"](conv, x, tail, out_dtype, *args, **kwargs)
    return original["taps"](conv, x, tail, out_dtype, *knob)


def tup_forward(self, x, state):
    """committed_forward with the MLP as mlp_tup (D a power of two, pieces under MIXER_GATE_MIN_TOKENS)."""
    from nonattn_core.block import BlockState
    u = triton_ops.rms_norm_channels_first(x, self.norm_ssm.weight, self.norm_ssm.eps)
    y, gate, ssm_state = self.ssm.conv_and_gate_channels_first(u, state.ssm)
    if x.shape[0] * x.shape[1] >= block_module.MIXER_GATE_MIN_TOKENS:
        x = triton_block.mixer_gate_residual(y, gate, self.ssm.gate_proj.bias, self.ssm.out_proj, x)
    else:
        x = triton_block.linear_residual(triton_ops.gelu_gate(y, gate.permute(1, 0, 2), self.ssm.gate_proj.bias,
                                                              gate_channels_first=True), self.ssm.out_proj, x)
    activated, conv_tail = self.conv.activated_taps(self.norm_conv(x), state.conv_tail)
    x = triton_block.linear_residual(activated, self.conv.out_proj, x)
    x = mlp_tup(x, self.norm_mlp(x), self.mlp, UP, DOWN)
    return x, BlockState(ssm_state, conv_tail)


def forward(ids, autocast=True):
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        out, state = model.forward_stream(ids, model.init_state(1), flush=True, return_hidden=True,
                                          return_logits=False)
    return out.hidden.float().clone(), out.chunk_embeddings.float().clone()


variants = ["base", "knobs"] + (["tup", "knobs+tup"] if UP is not None and DOWN is not None else [])
print(f"## whole forward: variants {variants}; knobs s4d {best.get('s4d 32768')}, taps {best.get('taps 32768')}; "
      f"tup {UP} down {DOWN}", flush=True)
ids = torch.randint(0, 100_000, (1, 32768), device="cuda", generator=torch.Generator("cuda").manual_seed(1))
outputs = {}
for length in [int(n) for n in os.environ.get("AB_SHORT", "").split(",") if n]:
    for round_ in (1, 2):
        for name in variants:
            setup(name)
            print(f"round {round_} | {length} | {name:12s} | graph {graph_ms(ours_forward(model, length, 1 << 20), 20):.3f}",
                  flush=True)
for round_ in range(1, int(os.environ.get("AB_ROUNDS", "3")) + 1):
    for name in variants:
        setup(name)
        print(f"round {round_} | 32768 | {name:12s} | graph {graph_ms(ours_forward(model, 32768, 1 << 20), 20):.3f}",
              flush=True)
        if round_ == 1:
            outputs[name] = forward(ids)
setup("base")
fp32 = forward(ids, autocast=False)
for name, out in outputs.items():
    print(f"{name:12s} vs base: hidden {rel(out[0], outputs['base'][0]):.2e}, embeddings "
          f"{rel(out[1], outputs['base'][1]):.2e} | vs float32: hidden {rel(out[0], fp32[0]):.2e}, embeddings "
          f"{rel(out[1], fp32[1]):.2e}", flush=True)
for round_ in (1, 2):
    for name in variants:
        setup(name)
        print(f"round {round_} | 1M | {name:12s} | {cuda_time(ours_forward(model, 1 << 20, 1 << 20), 3, 1):.2f}",
              flush=True)
setup(os.environ.get("AB_PROFILE", variants[-1]))
print(f"## profile: {os.environ.get('AB_PROFILE', variants[-1])}", flush=True)
sys.argv = ["profile", "32768"]
exec(open("runs/gpu29/profile.py").read().split("torch.backends.cuda.matmul.allow_tf32 = True", 1)[1])
