"""GPU correctness check (run on the device machine): fast paths against the float32 reference, streaming == parallel.

    python -m nonattn_core.gpu_check     # prints a table; exits non-zero if a check fails
"""
from __future__ import annotations

import sys

import torch

from .config import NonAttnConfig
from .model import NonAttnLM


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    wide = torch.complex128 if out.is_complex() or ref.is_complex() else torch.float64
    return float((out.to(wide) - ref.to(wide)).norm() / ref.to(wide).norm())


def fft_path(layer, u, state=None):
    """S4DConv through its FFT path (taken whenever gradients are on), recording no graph: parameters frozen."""
    flags = [p.requires_grad for p in layer.parameters()]
    layer.requires_grad_(False)
    try:
        with torch.enable_grad():
            return layer(u, state)
    finally:
        for p, flag in zip(layer.parameters(), flags):
            p.requires_grad_(flag)


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
        fast, _ = fft_path(layer, u.cuda())
        rows.append(("S4D layer cuda FFT vs recurrence", relative_error(fast.cpu(), reference), 1e-4))
        fast, _ = layer(u.cuda())                                      # no gradients: the chunked path
        rows.append(("S4D layer cuda chunked vs recurrence", relative_error(fast.cpu(), reference), 1e-4))
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fast_bf16, _ = layer(u.cuda().bfloat16())
        rows.append(("S4D layer cuda bf16 input vs recurrence", relative_error(fast_bf16.float().cpu(), reference), 1e-2))
        from . import model as model_module
        shortest = model_module.UPPER_BESIDE_MIN_CHUNKS, model_module.UPPER_BESIDE_MIN_CHUNKS_CLUSTER_GRU
        model_module.UPPER_BESIDE_MIN_CHUNKS = model_module.UPPER_BESIDE_MIN_CHUNKS_CLUSTER_GRU = 16
        try:                                                           # these pieces (16-32 chunks) take that path
            rows += check_upper_beside_gru(gpu, ids_gpu[:1], ref.logits[:1])
            rows += check_graphed_stream(gpu, batch=1, encode_path=False)
        finally:
            model_module.UPPER_BESIDE_MIN_CHUNKS, model_module.UPPER_BESIDE_MIN_CHUNKS_CLUSTER_GRU = shortest
        rows += check_chunked_s4d(layer) + check_triton_s4d(layer) + check_triton_ops(gpu) + check_graphed_stream(gpu)
        rows += check_bf16_weights(gpu)
    failed = False
    print(f"{'check':48s} {'rel. error':>12s} {'limit':>8s}")
    for name, err, limit in rows:
        ok = err <= limit                                              # NaN fails
        failed |= not ok
        print(f"{name:48s} {err:12.2e} {limit:8.0e} {'ok' if ok else 'FAIL'}")
    return 1 if failed else 0


def check_chunked_s4d(layer) -> list[tuple[str, float, float]]:
    """Chunked S4D (inference path) against the FFT path in float32, with and without a carried state."""
    from .s4d_chunked import chunked_s4d_conv

    rows = []
    H = layer.D.shape[0]
    for batch, length in [(1, 1), (2, 127), (1, 4096 + 77), (1, 1 << 18)]:
        u = torch.randn(batch, H, length, device="cuda")
        state = torch.randn(batch, H, layer.kernel.log_A_real.shape[1], dtype=torch.complex64, device="cuda")
        ref_y, ref_state = fft_path(layer, u, state)
        for block, group in [(512, 16), (256, 16), (128, 32), (64, 16)]:
            y, new_state = chunked_s4d_conv(layer, u, state, block, group)
            err = max(relative_error(y, ref_y), relative_error(new_state, ref_state))
            rows.append((f"chunked S4D T={block} G={group} vs FFT, B={batch} L={length}", err, 1e-4))
        y, new_state = chunked_s4d_conv(layer, u.bfloat16(), state)    # bf16 operands (the model's path)
        ref_bf16, ref_state_bf16 = fft_path(layer, u.bfloat16().float(), state)
        err = max(relative_error(y, ref_bf16), relative_error(new_state, ref_state_bf16))
        rows.append((f"chunked S4D bf16 vs FFT fp32 (same inputs), B={batch} L={length}", err, 1e-2))
    return rows


def check_triton_s4d(layer) -> list[tuple[str, float, float]]:
    """The Triton kernels of the chunked S4D layer (triton_s4d.py) against the FFT path and the torch chunked path.

    Fresh random inputs per case; y poisoned with NaN before each run (an unwritten element fails the check);
    lengths under, at and over a tile (M * T tokens), not multiples of the block, with and without a carried
    state, B > 1, channels-first and channels-last inputs, more than one step of the scan across tiles.
    """
    from . import triton_s4d
    from .s4d_chunked import GROUP_GPU, chunked_s4d_conv, plan_for, triton_chunked_s4d_conv

    if not triton_s4d.available():
        return [("triton not importable: triton S4D not checked", float("nan"), 0.0)]
    rows = []
    H = layer.D.shape[0]
    n = layer.kernel.log_A_real.shape[1]
    plan = plan_for(layer, "cuda", triton_s4d.BLOCK, GROUP_GPU)
    tile = triton_s4d.TILE_BLOCKS * triton_s4d.BLOCK
    cases = [(1, 1, False), (2, 127, True), (1, 4096 + 77, True), (3, 2 * tile + 5, True), (2, tile, False),
             (1, 1 << 18, True)]
    for batch, length, with_state in cases:
        u = torch.randn(batch, H, length, device="cuda")
        state = torch.randn(batch, H, n, dtype=torch.complex64, device="cuda") if with_state else None
        ref_y, ref_state = fft_path(layer, u, state)
        y = torch.full_like(u, float("nan"))
        y, new_state = triton_s4d.s4d_conv(plan, u, state, out=y)
        err = max(relative_error(y, ref_y), relative_error(new_state, ref_state))
        rows.append((f"triton S4D fp32 vs FFT, B={batch} L={length} state={with_state}", err, 1e-4))
        if length <= 1 << 18:
            torch_y, torch_state = chunked_s4d_conv(layer, u, state, 256, 16)
            err = max(relative_error(y, torch_y), relative_error(new_state, torch_state))
            rows.append((f"triton S4D fp32 vs torch chunked, B={batch} L={length}", err, 1e-4))
        u_cl = u.transpose(1, 2).contiguous().transpose(1, 2)                  # channels last, as in the model
        for strided in (False, True):
            y_cl, state_cl = triton_chunked_s4d_conv(layer, u_cl, state, strided=strided)
            err = max(relative_error(y_cl, ref_y), relative_error(state_cl, ref_state))
            rows.append((f"triton S4D fp32 channels-last ({'strided' if strided else 'copied'}), L={length}", err, 1e-4))
        u_bf16 = u.bfloat16()
        ref_bf16, ref_state_bf16 = fft_path(layer, u_bf16.float(), state)
        y = torch.full_like(u_bf16, float("nan"))
        y, new_state = triton_s4d.s4d_conv(plan, u_bf16, state, out=y)
        err = max(relative_error(y, ref_bf16), relative_error(new_state, ref_state_bf16))
        rows.append((f"triton S4D bf16 vs FFT fp32 (same inputs), B={batch} L={length}", err, 1e-2))
        y_cl, state_cl = triton_chunked_s4d_conv(layer, u_bf16.transpose(1, 2).contiguous().transpose(1, 2), state)
        err = max(relative_error(y_cl, ref_bf16), relative_error(state_cl, ref_state_bf16))
        rows.append((f"triton S4D bf16 channels-last (copied), L={length}", err, 1e-2))
    # kernel 1's alternative (OWN_BY_WEIGHTS): a tile's own end state as a weighted sum of its blocks' states
    default = triton_s4d.OWN_BY_WEIGHTS
    triton_s4d.OWN_BY_WEIGHTS = not default
    try:
        for batch, length in [(2, 127), (3, 2 * tile + 5), (1, 1 << 18)]:
            u = torch.randn(batch, H, length, device="cuda")
            state = torch.randn(batch, H, n, dtype=torch.complex64, device="cuda")
            ref_y, ref_state = fft_path(layer, u, state)
            for dtype, limit in [(torch.float32, 1e-4), (torch.bfloat16, 1e-2)]:
                if dtype == torch.bfloat16:
                    ref_y, ref_state = fft_path(layer, u.bfloat16().float(), state)
                y, new_state = triton_s4d.s4d_conv(plan, u.to(dtype), state,
                                                   out=torch.full_like(u, float("nan"), dtype=dtype))
                rows.append((f"triton S4D {dtype} OWN_BY_WEIGHTS={not default} vs FFT, B={batch} L={length}",
                             max(relative_error(y, ref_y), relative_error(new_state, ref_state)), limit))
    finally:
        triton_s4d.OWN_BY_WEIGHTS = default
    # more tiles than one step of the scan across tiles takes (SCAN_CHUNK): tiles of 16 blocks
    length = (triton_s4d.SCAN_CHUNK + 3) * 16 * triton_s4d.BLOCK + 3
    u = torch.randn(2, H, length, device="cuda")
    state = torch.randn(2, H, n, dtype=torch.complex64, device="cuda")
    ref_y, ref_state = fft_path(layer, u, state)
    y, new_state = triton_s4d.s4d_conv(plan, u, state, tile_blocks=16, out=torch.full_like(u, float("nan")))
    rows.append((f"triton S4D fp32 vs FFT, B=2 L={length}, tiles of 16 blocks (2 scan steps)",
                 max(relative_error(y, ref_y), relative_error(new_state, ref_state)), 1e-4))
    # TF32 products (what bench.py times with torch.backends.cuda.matmul.allow_tf32 on): reported, looser bound
    u = torch.randn(1, H, 1 << 18, device="cuda")
    ref_y, ref_state = fft_path(layer, u)
    y, new_state = triton_s4d.s4d_conv(plan, u, precise=False)
    rows.append(("triton S4D fp32 with TF32 products vs FFT, L=262144",
                 max(relative_error(y, ref_y), relative_error(new_state, ref_state)), 1e-3))
    return rows


def check_triton_ops(model) -> list[tuple[str, float, float]]:
    """Each fused kernel against its plain torch version, float32 and bf16, whole and streamed in two pieces."""
    from . import triton_ops

    if not triton_ops.available():
        return [("triton not importable: fused kernels not checked", float("nan"), 0.0)]
    rows = []
    conv = model.lower[0].conv
    D = conv.out_proj.in_features
    for length in [1, 31, 5000]:
        x = torch.randn(2, length, D, device="cuda")
        reference = conv.reference(x)
        out, _ = conv(x)
        rows.append((f"fused dilated taps fp32 vs Conv1d, L={length}", relative_error(out, reference), 1e-4))
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out_bf16, _ = conv(x.bfloat16())
        rows.append((f"fused dilated taps bf16 vs Conv1d fp32, L={length}", relative_error(out_bf16, reference), 1e-2))
        cut = length // 2
        first, tail = conv(x[:, :cut])
        second, _ = conv(x[:, cut:], tail)
        rows.append((f"fused dilated taps streamed vs whole, L={length}",
                     relative_error(torch.cat([first, second], 1), out), 1e-5))
    y = torch.randn(2, D, 3000, device="cuda")
    gate = torch.randn(2, 3000, D, device="cuda")
    rows.append(("fused gelu*silu gate fp32 vs torch",
                 relative_error(triton_ops.gelu_gate(y, gate), triton_ops.gelu_gate_reference(y, gate)), 1e-6))
    rows.append(("fused gelu*silu gate bf16 vs torch fp32",
                 relative_error(triton_ops.gelu_gate(y, gate.bfloat16()), triton_ops.gelu_gate_reference(y, gate)), 1e-2))
    bias = torch.randn(D, device="cuda")
    rows.append(("fused gelu*silu gate, channels-first gate + bias, fp32 vs torch",
                 relative_error(triton_ops.gelu_gate(y, gate.transpose(1, 2).contiguous(), bias, gate_channels_first=True),
                                triton_ops.gelu_gate_reference(y, gate + bias)), 1e-6))
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(2, 3000, D, device="cuda", dtype=dtype)
        weight = torch.randn(D, device="cuda")
        rows.append((f"fused RMSNorm written channels-first {str(dtype)[6:]} vs fp32",
                     relative_error(triton_ops.rms_norm_channels_first(x, weight, 1e-5),
                                    triton_ops.rms_norm_reference(x, weight, 1e-5).permute(2, 0, 1)),
                     1e-5 if dtype == torch.float32 else 1e-2))
        limit = 1e-5 if dtype == torch.float32 else 1e-2
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
            fused = triton_ops.rms_norm(x, weight, 1e-5)
        rows.append((f"fused RMSNorm {str(dtype)[6:]} vs fp32", relative_error(fused, triton_ops.rms_norm_reference(x, weight, 1e-5)), limit))
        h = torch.randn(2, 3000, 4 * D, device="cuda", dtype=dtype)
        rows.append((f"fused silu gate (MLP) {str(dtype)[6:]} vs torch fp32",
                     relative_error(triton_ops.silu_mul(h), triton_ops.silu_mul_reference(h.float())), limit))
    table, token_weight = torch.randn(1000, 128, device="cuda"), torch.rand(1000, device="cuda")
    for length, run, lead in [(5000, 256, 0), (5000, 256, 100), (3000, 8, 0)]:
        x = torch.randn(2, length, D, device="cuda", dtype=torch.bfloat16)
        ids = torch.randint(0, table.shape[0], (2, length), device="cuda")
        rows.append((f"fused chunk feature sums vs fp64, L={length} run={run} lead={lead}",
                     relative_error(triton_ops.feature_sums(x, ids, run, lead, table, token_weight),
                                    triton_ops.feature_sums_reference(x.double(), ids, run, lead, table.double(),
                                                                      token_weight.double())), 1e-6))
        carry = torch.randn(2, D + 128, device="cuda")
        sums, means = triton_ops.feature_means(x, ids, run, lead, table, token_weight, carry)
        ref = triton_ops.feature_sums_reference(x.double(), ids, run, lead, table.double(), token_weight.double())
        ref[:, 0] += carry.double()
        starts = torch.arange(ref.shape[1], device="cuda") * run
        counts = (torch.clamp(starts + run, max=lead + length) - starts).double().view(1, -1, 1)
        rows.append((f"fused chunk feature sums + carry, means vs fp64, L={length} run={run} lead={lead}",
                     max(relative_error(sums, ref), relative_error(means, ref / counts)), 1e-6))
    x = torch.randn(2, 3000, D, device="cuda", dtype=torch.bfloat16)
    injected = torch.randn(2, 13, D, device="cuda", dtype=torch.bfloat16)
    for lead in (0, 100):
        index = (torch.arange(3000, device="cuda") + lead) // 256
        rows.append((f"fused supervisor rows added (exact), lead={lead}",
                     relative_error(triton_ops.add_rows(x, injected, 256, lead), x + injected[:, index]), 0.0))
    rows += check_fused_residual(model)
    import copy

    from .cuda_graphs import graphed_gru
    gru = model.supervisor.gru
    gru64 = copy.deepcopy(gru).double().cpu()                          # the reference: float64 on the CPU
    S = gru.hidden_size
    for length in (1, 37, 1024):
        x = torch.randn(1, length, S, device="cuda")
        h0 = torch.randn(1, 1, S, device="cuda")
        ref = gru64(x.double().cpu(), h0.double().cpu())[0]
        # cuDNN runs float32 RNNs with TF32 unless torch.backends.cudnn.allow_tf32 is False: ~3e-4 here
        rows.append((f"cuDNN GRU fp32 (TF32 default) vs fp64, {length} steps", relative_error(gru(x, h0)[0].cpu(), ref), 1e-3))
        for _ in range(2):                                             # capture, then replay the captured graph
            replayed = graphed_gru(gru, x, h0)
        rows.append((f"graphed GRU (fastest of cuDNN/fused) vs fp64, {length} steps", relative_error(replayed.cpu(), ref), 1e-3))
        rows.append((f"fused GRU step kernel fp32 vs fp64, {length} steps",
                     relative_error(triton_ops.gru_by_steps(gru, x, h0).cpu(), ref), 1e-4))
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fused_bf16 = triton_ops.gru_by_steps(gru, x.bfloat16(), h0.bfloat16())
        rows.append((f"fused GRU step kernel bf16 vs fp64, {length} steps", relative_error(fused_bf16.cpu(), ref), 1e-2))
        persistent = triton_ops.gru_persistent(gru, x, h0)
        rows.append((f"persistent GRU fp32 vs fp64, {length} steps", relative_error(persistent.cpu(), ref), 1e-4))
        with torch.autocast("cuda", dtype=torch.bfloat16):
            persistent_bf16 = triton_ops.gru_persistent(gru, x.bfloat16(), h0.bfloat16())
        rows.append((f"persistent GRU bf16 vs fp64, {length} steps", relative_error(persistent_bf16.cpu(), ref), 1e-2))
        rows += check_cluster_gru(gru, x, h0, persistent, ref)
    # bf16 under autocast, captured in one autocast context and replayed in another (the cached weight casts of
    # the first context are freed by then): against the fused kernel run eagerly in the second
    x = torch.randn(1, 300, S, device="cuda")
    h0 = torch.randn(1, 1, S, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        graphed_gru(gru, x.bfloat16(), h0.bfloat16())
    with torch.autocast("cuda", dtype=torch.bfloat16):
        replayed = graphed_gru(gru, x.bfloat16(), h0.bfloat16())
        eager = triton_ops.gru_by_steps(gru, x.bfloat16(), h0.bfloat16())
    rows.append(("graphed GRU bf16, replayed in a new autocast context", relative_error(replayed, eager), 1e-2))
    x = torch.randn(2, 3000, D, device="cuda", dtype=torch.bfloat16)
    padded = triton_ops.to_channels_first(x, 3072)
    exact = torch.cat([x.float().permute(2, 0, 1), x.new_zeros(D, 2, 72, dtype=torch.float32)], -1)
    rows.append(("channels-first copy (exact)", relative_error(padded, exact), 0.0))
    table = model.embedding.table.weight
    ids = torch.randint(0, table.shape[0], (2, 3000), device="cuda")
    gathered = triton_ops.table_rows(table, ids, torch.bfloat16).float()
    rows.append(("token-table rows gathered in bf16 (exact)", relative_error(gathered, table[ids].bfloat16().float()),
                 0.0))
    wide = triton_ops.to_channels_first(x, 3072, torch.bfloat16, row=256, width=288)[..., :256]
    rows.append(("channels-first copy into wide rows (exact)",
                 relative_error(wide.float(), exact.reshape(D, 24, 256)), 0.0))
    return rows


def check_fused_residual(model) -> list[tuple[str, float, float]]:
    """triton_block's GEMMs with the residual in their epilogue against float32 torch, and a whole block's fused
    bf16 path against its plain bf16 path (the same maths, other rounding)."""
    from . import triton_block

    rows = []
    block = model.lower[0]
    D = block.mlp.down.out_features
    for length in (1, 300, 32768 + 5):
        x = torch.randn(2, length, D, device="cuda", dtype=torch.bfloat16)
        a = torch.randn(2, length, D, device="cuda", dtype=torch.bfloat16)
        h = torch.randn(2, length, 2 * block.mlp.down.in_features, device="cuda", dtype=torch.bfloat16)
        rows.append((f"GEMM + bias + residual (Triton) vs fp32, L={length}",
                     relative_error(triton_block.linear_residual(a, block.ssm.out_proj, x),
                                    triton_block.linear_residual_reference(a, block.ssm.out_proj, x)), 1e-2))
        rows.append((f"value*silu(gate) GEMM + residual (Triton) vs fp32, L={length}",
                     relative_error(triton_block.linear_residual(h, block.mlp.down, x, gated=True),
                                    triton_block.linear_residual_reference(h, block.mlp.down, x, gated=True)), 1e-2))
        y = torch.randn(2, D, length, device="cuda", dtype=torch.bfloat16)
        gate = torch.randn(D, 2, length, device="cuda", dtype=torch.bfloat16)
        mixer = (y, gate, block.ssm.gate_proj.bias, block.ssm.out_proj, x)
        rows.append((f"gelu(y)*silu(gate) GEMM + residual, channels-first y and gate (Triton) vs fp32, L={length}",
                     relative_error(triton_block.mixer_gate_residual(*mixer),
                                    triton_block.mixer_gate_residual_reference(*mixer)), 1e-2))
        rows.append((f"gated MLP + residual (Triton up with silu gate, down) vs fp32, L={length}",
                     relative_error(triton_block.gated_mlp_residual(a, block.mlp, x),
                                    triton_block.gated_mlp_residual_reference(a, block.mlp, x)), 1e-2))
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fused, fused_state = block(x)
            plain_x = x + block.ssm(block.norm_ssm(x))[0]
            plain_x = plain_x + block.conv(block.norm_conv(plain_x))[0]
            plain_x = plain_x + block.mlp(block.norm_mlp(plain_x))
        rows.append((f"block, fused residual path vs plain path (bf16), L={length}",
                     relative_error(fused, plain_x), 1e-2))
    return rows


def check_cluster_gru(gru, x, h0, persistent, ref) -> list[tuple[str, float, float]]:
    """Where the GRU runs in one thread-block cluster (cuda_gru.py, Hopper): its states `persistent` against the
    Triton kernel's, and in two launches (as model._upper_beside_gru runs them) against one."""
    from . import cuda_gru, triton_ops
    if not cuda_gru.applies(gru.hidden_size, x.device):
        return []
    length = x.shape[1]
    cuda_gru.ENABLED = False
    try:
        triton_kernel = triton_ops.gru_persistent(gru, x, h0)
    finally:
        cuda_gru.ENABLED = True
    steps = triton_ops.PersistentGRU(gru, x, h0)
    steps.launch(0, length // 3)
    steps.launch(length // 3, length)
    return [(f"persistent GRU, cluster kernel vs Triton kernel fp32, {length} steps",
             relative_error(persistent.cpu(), triton_kernel.cpu()), 1e-5),
            (f"persistent GRU, cluster kernel in two launches vs fp64, {length} steps",
             relative_error(steps.states[1:].cpu(), ref[0]), 1e-4)]


def check_upper_beside_gru(model, ids, ref_logits) -> list[tuple[str, float, float]]:
    """Batch 1: the upper blocks over a first span of chunks beside the GRU's later steps (model._upper_beside_gru)
    against the CPU float32 reference, and in bf16 against the same model running the GRU first."""
    from . import model as model_module
    rows = [("cuda fp32 logits B=1, upper beside GRU, vs cpu", relative_error(model(ids).logits.cpu(), ref_logits),
             1e-4)]
    with torch.autocast("cuda", dtype=torch.bfloat16):
        beside = model(ids).logits.float()
        shares = model_module.UPPER_FIRST_SPAN, model_module.UPPER_FIRST_SPAN_CLUSTER_GRU
        model_module.UPPER_FIRST_SPAN = model_module.UPPER_FIRST_SPAN_CLUSTER_GRU = (0.0, 0.0)
        try:
            after = model(ids).logits.float()
        finally:
            model_module.UPPER_FIRST_SPAN, model_module.UPPER_FIRST_SPAN_CLUSTER_GRU = shares
    rows.append(("cuda bf16 logits B=1, upper beside vs after GRU", relative_error(beside, after), 1e-2))
    return rows


def check_graphed_stream(model, batch: int = 2, encode_path: bool = True) -> list[tuple[str, float, float]]:
    """forward_stream with its block stacks replayed as CUDA graphs against the same calls run eagerly.

    The replays run the same kernels on the same values, so the limit is 0: any difference is a bug (a stale
    buffer, a state aliased between calls, a freed cached matrix). Pieces of 4096 from an empty state and with a
    carried state, then an odd last piece; each document read in its own autocast context, graphs captured on the
    second read and replayed on a later one, after a float32 call that builds float32 matrices of the same layers.
    """
    from . import cuda_graphs

    cuda_graphs._stack_graphs.clear()                                  # count this check's captures alone
    cuda_graphs._seen.clear()
    ids = torch.randint(0, 100000, (batch, 3 * 4096 + 1000), device="cuda")
    cuts = [0, 4096, 8192, 12288, ids.shape[1]]

    def read(return_logits):
        state, outs = model.init_state(batch), []
        for start, end in zip(cuts, cuts[1:]):
            out, state = model.forward_stream(ids[:, start:end], state, flush=end == cuts[-1],
                                              return_logits=return_logits, return_hidden=return_logits)
            outs += [out.chunk_embeddings] + ([out.logits, out.hidden] if return_logits else [])
        outs += [t for b in state.blocks if b.ssm is not None for t in (torch.view_as_real(b.ssm), b.conv_tail)]
        return outs + [state.supervisor, state.chunk_sum]

    def read_bf16(return_logits):                                       # each read in its own autocast context
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return read(return_logits)

    rows = []
    for return_logits in (False, True) if encode_path else (True,):
        cuda_graphs.ENABLED = False
        eager = read_bf16(return_logits)
        cuda_graphs.ENABLED = True
        replays_before = len(cuda_graphs._stack_graphs)
        read_bf16(return_logits)
        read_bf16(return_logits)                                      # captures
        model.forward_stream(ids[:, :512], model.init_state(batch))    # float32 in between: its own matrices
        graphed = read_bf16(return_logits)                             # replays
        captured = len(cuda_graphs._stack_graphs) - replays_before
        err = max(relative_error(g.float(), e.float()) for g, e in zip(graphed, eager))
        what = "logits, hidden, embeddings, states" if return_logits else "embeddings and states, encode path"
        rows.append((f"graphed forward_stream vs eager B={batch} ({what}; {captured} graphs)", err, 0.0))
    return rows


def check_bf16_weights(model) -> list[tuple[str, float, float]]:
    """Cached bf16 weight copies (bf16_weights.py) against autocast's own casts, which they replace: the same
    products bit for bit, before and after a weight changes; the whole bf16 forward with and without them; and a
    graphed forward after a weight change against the eager one (the graph must be captured again)."""
    from . import bf16_weights, cuda_graphs
    from .bf16_weights import linear

    rows = []
    proj = model.lower[0].ssm.gate_proj
    saved = proj.weight.detach().clone()
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(2, 3000, proj.in_features, device="cuda", dtype=dtype)
        for step in ("before", "after"):
            if step == "after":
                proj.weight.add_(torch.randn_like(proj.weight) * 0.01)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                cached, plain = linear(x, proj.weight, proj.bias), proj(x)
            rows.append((f"linear with cached bf16 weights vs autocast, {str(dtype)[6:]} input, {step} a weight "
                         f"change (exact)", relative_error(cached, plain), 0.0))
    ids = torch.randint(0, 100000, (1, 4096), device="cuda")

    def read():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out, state = model.forward_stream(ids, model.init_state(1), flush=True, return_hidden=True)
        return [out.logits, out.hidden, out.chunk_embeddings, state.supervisor]

    def difference(a, b):
        return max(relative_error(x.float(), y.float()) for x, y in zip(a, b))

    cuda_graphs.ENABLED = bf16_weights.ENABLED = False
    autocast_casts = read()
    bf16_weights.ENABLED = True
    rows.append(("bf16 forward, cached bf16 weights vs autocast's casts (exact)", difference(read(), autocast_casts),
                 0.0))
    cuda_graphs.ENABLED = True
    for _ in range(3):                                                 # captured on the second call, replayed
        before = read()
    proj.weight.add_(torch.randn_like(proj.weight) * 0.01)
    graphed = read()
    cuda_graphs.ENABLED = False
    eager = read()
    cuda_graphs.ENABLED = True
    rows.append(("graphed forward after a weight change vs eager (exact)", difference(graphed, eager), 0.0))
    rows.append(("... the weight change moved the outputs (1: it did not)", float(difference(graphed, before) == 0),
                 0.0))
    proj.weight.copy_(saved)
    return rows


if __name__ == "__main__":
    sys.exit(main())
