"""Inference fast paths against their references: chunked S4D (any device), merged dilated taps, and the GPU-only
Triton kernels and graphed GRU (skipped without a CUDA device and Triton)."""
import pytest
import torch
import torch.nn.functional as F

from nonattn_core.multires_conv import MultiResolutionConv
from nonattn_core.s4d import S4DConv
from nonattn_core.s4d_chunked import chunked_s4d_conv, plan_for
from nonattn_core.multires_conv import merged_taps


def relative_error(out, ref):
    return float((out - ref).abs().norm() / ref.abs().norm())


def fft_path(conv, u, state=None):
    """S4DConv's FFT path (gradients on), recording no graph."""
    conv.requires_grad_(False)
    with torch.enable_grad():
        return conv(u, state)


@pytest.mark.parametrize("length", [1, 7, 128, 300, 2 * 128 * 4 + 5])
@pytest.mark.parametrize("block,group", [(128, 32), (16, 4), (8, 2)])
def test_chunked_s4d_equals_fft_path(length, block, group):
    torch.manual_seed(length)
    conv = S4DConv(channels=6, d_state=8, dt_min=1e-3, dt_max=0.5)
    u = torch.randn(2, 6, length)
    state = torch.randn(2, 6, 4, dtype=torch.complex64)
    for carried in (None, state):
        ref_y, ref_state = fft_path(conv, u, carried)
        with torch.no_grad():
            y, new_state = chunked_s4d_conv(conv, u, carried, block, group)
        assert relative_error(y, ref_y) <= 1e-5
        assert relative_error(new_state, ref_state) <= 1e-5


@pytest.mark.parametrize("length", [300, 4096 + 77])
def test_chunked_s4d_in_bf16_on_cpu_stays_near_fft_path(length):
    """bf16 input (CPU inference under bf16 autocast): bf16 block products, y in bf16 within bf16 rounding of the
    float32 FFT path, the carried state still complex64 and as close."""
    torch.manual_seed(length)
    conv = S4DConv(channels=8, d_state=16, dt_min=1e-3, dt_max=0.1)
    u = torch.randn(1, 8, length).bfloat16()
    state = torch.randn(1, 8, 8, dtype=torch.complex64)
    ref_y, ref_state = fft_path(conv, u.float(), state)
    with torch.no_grad():
        y, new_state = chunked_s4d_conv(conv, u, state)
    assert y.dtype == torch.bfloat16 and new_state.dtype == torch.complex64
    assert relative_error(y.float(), ref_y) <= 1e-2
    assert relative_error(new_state, ref_state) <= 1e-2


def test_chunked_s4d_matches_recurrence_and_streams():
    torch.manual_seed(0)
    conv = S4DConv(channels=4, d_state=8, dt_min=1e-2, dt_max=0.5)
    u = torch.randn(1, 4, 200)
    with torch.no_grad():
        reference = conv.reference(u)
        whole, _ = chunked_s4d_conv(conv, u, None, 16, 4)
        first, state = chunked_s4d_conv(conv, u[..., :77], None, 16, 4)
        second, _ = chunked_s4d_conv(conv, u[..., 77:], state, 16, 4)
    assert relative_error(whole, reference) <= 1e-5
    assert relative_error(torch.cat([first, second], -1), reference) <= 1e-5


def test_chunk_plan_rebuilt_when_weights_change():
    conv = S4DConv(channels=4, d_state=8, dt_min=1e-2, dt_max=0.5)
    u = torch.randn(1, 4, 50)
    with torch.no_grad():
        before = plan_for(conv, u.device, 16, 4)
        assert plan_for(conv, u.device, 16, 4) is before
        conv.D.add_(1.0)
        y, _ = chunked_s4d_conv(conv, u, None, 16, 4)
    assert plan_for(conv, u.device, 16, 4) is not before
    assert relative_error(y, fft_path(conv, u)[0]) <= 1e-5


def test_merged_taps_equal_conv1d_reference():
    """The 15 gated taps summed onto their 7 distinct shifts give the same convolution."""
    torch.manual_seed(0)
    conv = MultiResolutionConv(12, 3, (1, 2, 4, 8, 16))
    with torch.no_grad():
        conv.gate_logits.normal_()
        x = torch.randn(2, 70, 12)
        shifts, weights, bias = merged_taps(conv)
        assert shifts == [0, 1, 2, 4, 8, 16, 32]
        padded = F.pad(x, (0, 0, max(shifts), 0))                       # (B, pad + L, D)
        mixed = bias + sum(weights[:, j] * padded[:, max(shifts) - s: max(shifts) - s + 70] for j, s in enumerate(shifts))
        out = conv.out_proj(F.gelu(mixed))
        assert relative_error(out, conv.reference(x)) <= 1e-5


def _small_model():
    from nonattn_core.config import NonAttnConfig
    from nonattn_core.model import NonAttnLM
    return NonAttnLM(NonAttnConfig(vocab_size=512, d_model=64, n_layers=3, n_lower_layers=2, embed_dim=32,
                                   supervisor_dim=32, embed_rank=16))


def test_graph_weights_key_notices_every_weight_change():
    """cuda_graphs rebuilds a captured graph when the key changes; the key must change with any weight."""
    from nonattn_core.block import Block
    from nonattn_core.cuda_graphs import _weights_key
    torch.manual_seed(0)
    model = _small_model()
    seen = [_weights_key(model)]

    def changed() -> bool:
        key = _weights_key(model)
        new = key not in seen
        seen.append(key)
        return new

    assert not changed()                                               # nothing changed: the graph is reused
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randint(0, 512, (1, 40)), return_loss=True).loss.backward()
    optimizer.step()
    assert changed()                                                   # an optimizer step (in place)
    model.load_state_dict(_small_model().state_dict())
    assert changed()                                                   # load_state_dict (copies in place)
    model.to(torch.float64)
    assert changed()                                                   # .to(): new addresses
    with torch.no_grad():
        model.upper[0].mlp.down.weight.mul_(2.0)
    assert changed()                                                   # one weight, in place
    model.final_norm.weight = torch.nn.Parameter(torch.ones(64, dtype=torch.float64))
    assert changed()                                                   # a parameter replaced
    with torch.no_grad():
        model.final_norm.weight.add_(1.0)
    assert changed()                                                   # ... and the new one changed
    model.lower[0] = Block(model.config).double()
    assert changed()                                                   # a block replaced
    with torch.no_grad():
        model.lower[0].norm_ssm.weight.add_(1.0)
    assert changed()                                                   # ... and its weight changed
    assert not changed()


def test_bf16_weight_copies_follow_their_weight():
    """A cached bf16 copy is reused while its weight is unchanged and remade after any change."""
    from nonattn_core.bf16_weights import bf16_weight
    linear = torch.nn.Linear(8, 4)
    first = bf16_weight(linear.weight)
    assert first.dtype == torch.bfloat16 and torch.equal(first, linear.weight.detach().bfloat16())
    assert bf16_weight(linear.weight) is first
    with torch.no_grad():
        linear.weight.add_(1.0)
    second = bf16_weight(linear.weight)
    assert torch.equal(second, linear.weight.detach().bfloat16())
    linear.load_state_dict(torch.nn.Linear(8, 4).state_dict())
    assert torch.equal(bf16_weight(linear.weight), linear.weight.detach().bfloat16())
    linear.to(torch.float64)
    assert torch.equal(bf16_weight(linear.weight), linear.weight.detach().bfloat16())


def _gpu_triton():
    from nonattn_core import triton_ops
    if not triton_ops.available():
        pytest.skip("needs a CUDA device and Triton")
    return triton_ops


def test_gpu_fused_kernels_match_references():
    triton_ops = _gpu_triton()
    torch.manual_seed(0)
    conv = MultiResolutionConv(64, 3, (1, 2, 4, 8, 16)).cuda()
    x = torch.randn(2, 300, 64, device="cuda")
    with torch.no_grad():
        out, tail = conv(x)
        assert relative_error(out, conv.reference(x)) <= 1e-4
        first, tail = conv(x[:, :100])
        second, _ = conv(x[:, 100:], tail)
        assert relative_error(torch.cat([first, second], 1), out) <= 1e-5
        weight = torch.randn(64, device="cuda")
        assert relative_error(triton_ops.rms_norm(x, weight, 1e-5), triton_ops.rms_norm_reference(x, weight, 1e-5)) <= 1e-5
        h = torch.randn(2, 300, 128, device="cuda")
        assert relative_error(triton_ops.silu_mul(h), triton_ops.silu_mul_reference(h)) <= 1e-5
        y = torch.randn(2, 64, 300, device="cuda")
        assert relative_error(triton_ops.gelu_gate(y, x), triton_ops.gelu_gate_reference(y, x)) <= 1e-5
        bias = torch.randn(64, device="cuda")
        gate_first = x.transpose(1, 2).contiguous()                    # (B, H, L)
        assert relative_error(triton_ops.gelu_gate(y, gate_first, bias, gate_channels_first=True),
                              triton_ops.gelu_gate_reference(y, x + bias)) <= 1e-5
        assert relative_error(triton_ops.rms_norm_channels_first(x, weight, 1e-5),
                              triton_ops.rms_norm_reference(x, weight, 1e-5).permute(2, 0, 1)) <= 1e-5
        table, token_weight = torch.randn(50, 32, device="cuda"), torch.rand(50, device="cuda")
        ids = torch.randint(0, 50, (2, 300), device="cuda")
        for run, lead in [(256, 0), (256, 37), (8, 0), (64, 63)]:
            fast = triton_ops.feature_sums(x.bfloat16(), ids, run, lead, table, token_weight)
            reference = triton_ops.feature_sums_reference(x.bfloat16().double(), ids, run, lead, table.double(),
                                                          token_weight.double())
            assert fast.shape == reference.shape and relative_error(fast, reference) <= 1e-6
            assert relative_error(triton_ops.feature_sums(x, ids, run, lead),
                                  triton_ops.feature_sums_reference(x.double(), ids, run, lead)) <= 1e-6
            carry = torch.randn(2, 64 + 32, device="cuda")
            sums, means = triton_ops.feature_means(x.bfloat16(), ids, run, lead, table, token_weight, carry)
            reference[:, 0] += carry.double()
            starts = torch.arange(reference.shape[1], device="cuda") * run
            counts = (torch.clamp(starts + run, max=lead + 300) - starts).double().view(1, -1, 1)
            assert relative_error(sums, reference) <= 1e-6 and relative_error(means, reference / counts) <= 1e-6
        rows = torch.randn(2, 12, 64, device="cuda").bfloat16()
        for run, lead in [(32, 0), (32, 31), (256, 100)]:
            index = (torch.arange(300, device="cuda") + lead) // run
            assert torch.equal(triton_ops.add_rows(x.bfloat16(), rows, run, lead), x.bfloat16() + rows[:, index])


def test_gpu_chunked_s4d_and_graphed_gru():
    _gpu_triton()
    from nonattn_core.cuda_graphs import graphed_gru
    torch.manual_seed(0)
    conv = S4DConv(channels=32, d_state=8, dt_min=1e-3, dt_max=0.5).cuda()
    u = torch.randn(2, 32, 1000, device="cuda")
    ref_y, ref_state = fft_path(conv, u)
    with torch.no_grad():
        y, state = conv(u)                                             # the chunked inference path
    assert relative_error(y, ref_y) <= 1e-4 and relative_error(state, ref_state) <= 1e-4
    gru = torch.nn.GRU(16, 16, batch_first=True).cuda()
    xs, h0 = torch.randn(1, 40, 16, device="cuda"), torch.randn(1, 1, 16, device="cuda")
    with torch.no_grad():
        for _ in range(2):
            replayed = graphed_gru(gru, xs, h0)
        # against float64 on the CPU: cuDNN's float32 GRU runs in TF32 by default (~3e-4 off)
        import copy
        reference = copy.deepcopy(gru).double().cpu()(xs.double().cpu(), h0.double().cpu())[0]
        assert relative_error(replayed.cpu().double(), reference) <= 1e-3
        from nonattn_core.triton_ops import gru_by_steps, gru_persistent
        assert relative_error(gru_by_steps(gru, xs, h0).cpu().double(), reference) <= 1e-5
        persistent = gru_persistent(gru, xs, h0)                     # 2 programs, each step read with its tags
        assert relative_error(persistent.cpu().double(), reference) <= 1e-5
        assert all(torch.equal(gru_persistent(gru, xs, h0), persistent) for _ in range(20))


def test_gpu_graphed_forward_stream_equals_eager():
    """forward_stream's block stacks replayed as CUDA graphs give exactly the eager results (states included)."""
    _gpu_triton()
    from nonattn_core import cuda_graphs
    torch.manual_seed(0)
    model = _small_model().cuda().eval()
    ids = torch.randint(0, 512, (1, 3 * 512 + 100), device="cuda")
    cuts = [0, 512, 1024, 1536, ids.shape[1]]

    def read():                         # each read in its own autocast context, as encode_document does
        state, outs = model.init_state(1), []
        with torch.autocast("cuda", dtype=torch.bfloat16):
            for start, end in zip(cuts, cuts[1:]):
                out, state = model.forward_stream(ids[:, start:end], state, flush=end == cuts[-1])
                outs += [out.logits, out.chunk_embeddings]
        return outs + [t for b in state.blocks for t in (b.ssm, b.conv_tail)] + [state.supervisor]

    with torch.no_grad():
        cuda_graphs.ENABLED = False
        try:
            eager = read()
        finally:
            cuda_graphs.ENABLED = True
        captured = len(cuda_graphs._stack_graphs)
        graphed = [read() for _ in range(3)][-1]
    assert len(cuda_graphs._stack_graphs) > captured
    for g, e in zip(graphed, eager):
        assert torch.equal(g, e)


def test_gpu_upper_blocks_beside_gru_equal_after_it():
    """Batch 1 on the GPU: the upper blocks over a first span of chunks beside the GRU's later steps (two streams)
    give what the GRU-then-upper-blocks order gives, whole and streamed, and graph replays equal eager calls."""
    _gpu_triton()
    from nonattn_core import cuda_graphs, model as model_module
    from nonattn_core.config import NonAttnConfig
    from nonattn_core.model import NonAttnLM
    torch.manual_seed(0)
    model = NonAttnLM(NonAttnConfig(vocab_size=512, d_model=64, n_layers=3, n_lower_layers=2, embed_dim=32,
                                    supervisor_dim=32, embed_rank=16, chunk_size=16)).cuda().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)                         # the supervisor's injection is zero at init
    ids = torch.randint(0, 512, (1, 600), device="cuda")               # 38 chunks: the first span runs beside
    from nonattn_core import supervisor, triton_ops
    keys = torch.nn.functional.normalize(torch.randn(2, 40, 24, device="cuda"), dim=-1)
    for k in (1, 4):                                                   # the retrieval's GPU path against torch's
        scores = (keys @ keys.transpose(1, 2)).masked_fill(~torch.ones(40, 40, dtype=torch.bool, device="cuda")
                                                            .tril(-1), float("-inf"))
        values, index = scores.topk(k, dim=-1)
        valid = torch.isfinite(values).unsqueeze(-1).float()
        plain = (keys[torch.arange(2, device="cuda").view(2, 1, 1), index] * valid).sum(2) / valid.sum(2).clamp(min=1)
        assert torch.equal(triton_ops.mask_later(keys @ keys.transpose(1, 2)), scores)
        with torch.no_grad():                                          # inference: the GPU path
            assert relative_error(supervisor.retrieve_earlier(keys, None, k), plain) <= 1e-6

    def read(cuts, autocast=False):
        state, outs = model.init_state(1), []
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            for start, end in zip(cuts, cuts[1:]):
                out, state = model.forward_stream(ids[:, start:end], state, flush=end == cuts[-1])
                outs += [out.logits.float(), out.chunk_embeddings.float()]
        return [torch.cat(outs[0::2], 1), torch.cat(outs[1::2], 1), state.supervisor]

    shares, shortest = model_module.UPPER_FIRST_SPAN, model_module.UPPER_BESIDE_MIN_CHUNKS
    model_module.UPPER_BESIDE_MIN_CHUNKS = 16                          # pieces of 18-38 chunks take the path
    try:
        with torch.no_grad():
            model_module.UPPER_FIRST_SPAN = (0.0, 0.0)
            after = read([0, 600]), read([0, 600], autocast=True)
            model_module.UPPER_FIRST_SPAN = shares
            beside = read([0, 600]), read([0, 600], autocast=True)
            streamed = read([0, 300, 600])                             # the second piece starts mid-chunk
            cuda_graphs.ENABLED = False
            eager = read([0, 300, 600], autocast=True)
            cuda_graphs.ENABLED = True
            graphed = [read([0, 300, 600], autocast=True) for _ in range(3)][-1]
    finally:
        model_module.UPPER_FIRST_SPAN, model_module.UPPER_BESIDE_MIN_CHUNKS = shares, shortest
        cuda_graphs.ENABLED = True
    for b, a in zip(beside[0], after[0]):
        assert relative_error(b, a) <= 1e-5
    for b, a in zip(beside[1], after[1]):
        assert relative_error(b, a) <= 1e-2
    assert relative_error(streamed[0], beside[0][0]) <= 1e-4
    for g, e in zip(graphed, eager):
        assert torch.equal(g, e)


def test_gpu_cluster_gru_matches_reference_and_triton_kernel():
    """The GRU steps in one thread-block cluster (cuda_gru.py, Hopper) against float64 torch.nn.GRU and the Triton
    persistent kernel, launched in spans of steps as model.py does; the same states on every run (no race)."""
    triton_ops = _gpu_triton()
    from nonattn_core import cuda_gru
    torch.manual_seed(0)
    gru = torch.nn.GRU(256, 256, batch_first=True).cuda()
    if not cuda_gru.applies(256, torch.device("cuda")):
        pytest.skip("needs a Hopper GPU and NVRTC")
    gru64 = torch.nn.GRU(256, 256, batch_first=True).double().cuda()
    gru64.load_state_dict(gru.state_dict())
    for steps, cut in ((1, 0), (7, 3), (300, 100)):
        xs, h0 = torch.randn(1, steps, 256, device="cuda"), torch.randn(1, 256, device="cuda")
        reference = gru64(xs.double(), h0.double()[None])[0][0].detach()
        runs = []
        for _ in range(5):
            cluster_steps = triton_ops.PersistentGRU(gru, xs, h0)
            assert cluster_steps.in_cluster
            cluster_steps.launch(0, cut)
            cluster_steps.launch(cut, steps)
            runs.append(cluster_steps.states[1:].clone())
        cuda_gru.ENABLED = False
        try:
            triton_steps = triton_ops.PersistentGRU(gru, xs, h0)
        finally:
            cuda_gru.ENABLED = True
        assert not triton_steps.in_cluster
        triton_steps.launch(0, steps)
        assert relative_error(runs[0].double(), reference) <= 1e-5
        assert relative_error(runs[0], triton_steps.states[1:]) <= 1e-5
        assert all(torch.equal(run, runs[0]) for run in runs)
