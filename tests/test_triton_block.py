"""The fused residual GEMMs of nonattn_core/triton_block.py: GPU only, skipped without CUDA + Triton.

nonattn_core/gpu_check.py runs the same comparisons at larger sizes on the device machine.
"""
import pytest
import torch

from nonattn_core import triton_block
from nonattn_core.block import Block
from nonattn_core.config import NonAttnConfig

pytestmark = pytest.mark.skipif(not triton_block.available(), reason="needs a CUDA device and Triton")


def relative_error(out, ref):
    return float((out.double() - ref.double()).norm() / ref.double().norm())


@pytest.fixture(scope="module")
def block():
    torch.manual_seed(0)
    return Block(NonAttnConfig()).cuda().eval()


@pytest.mark.parametrize("length", [1, 300, 4099])
@pytest.mark.parametrize("gated", [False, True])
def test_linear_residual_matches_float32(block, length, gated):
    linear = block.mlp.down if gated else block.conv.out_proj
    width = 2 * linear.in_features if gated else linear.in_features
    a = torch.randn(2, length, width, device="cuda", dtype=torch.bfloat16)
    residual = torch.randn(2, length, linear.out_features, device="cuda", dtype=torch.bfloat16)
    out = triton_block.linear_residual(a, linear, residual, gated=gated)
    assert out.dtype == residual.dtype and out.shape == residual.shape
    assert relative_error(out, triton_block.linear_residual_reference(a, linear, residual, gated)) <= 1e-2


@pytest.mark.parametrize("gate_in_gemm", [False, True])
def test_block_fused_path_matches_float32(block, monkeypatch, gate_in_gemm):
    """Both forms of the mixer's gate: its own pass, or formed in the output projection (long pieces)."""
    from nonattn_core import block as block_module
    monkeypatch.setattr(block_module, "MIXER_GATE_MIN_TOKENS", 0 if gate_in_gemm else 1 << 30)
    x = torch.randn(1, 2000, block.mlp.down.out_features, device="cuda")
    with torch.no_grad():
        reference, _ = block(x)                                        # float32: the plain path
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fused, _ = block(x.bfloat16())                             # bf16: the fused residual path
    assert relative_error(fused, reference) <= 2e-2


@pytest.mark.parametrize("batch,length", [(1, 1), (2, 300), (1, 4099)])
def test_mixer_gate_residual_matches_float32(block, batch, length):
    D = block.ssm.out_proj.out_features
    y = torch.randn(batch, D, length, device="cuda", dtype=torch.bfloat16)
    gate = torch.randn(D, batch, length, device="cuda", dtype=torch.bfloat16)
    residual = torch.randn(batch, length, D, device="cuda", dtype=torch.bfloat16)
    out = triton_block.mixer_gate_residual(y, gate, block.ssm.gate_proj.bias, block.ssm.out_proj, residual)
    reference = triton_block.mixer_gate_residual_reference(y, gate, block.ssm.gate_proj.bias, block.ssm.out_proj,
                                                           residual)
    assert out.dtype == residual.dtype and relative_error(out, reference) <= 1e-2


@pytest.mark.parametrize("batch,length", [(1, 1), (2, 300), (1, 4099)])
def test_gated_mlp_residual_matches_float32(block, batch, length):
    D = block.mlp.down.out_features
    normed = torch.randn(batch, length, D, device="cuda", dtype=torch.bfloat16)
    residual = torch.randn(batch, length, D, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():
        out = triton_block.gated_mlp_residual(normed, block.mlp, residual)
        reference = triton_block.gated_mlp_residual_reference(normed, block.mlp, residual)
    assert out.dtype == residual.dtype and relative_error(out, reference) <= 1e-2


def test_block_fused_path_streams(block):
    """The fused path over two pieces with the carried state equals it over the whole (bf16 rounding apart)."""
    x = torch.randn(1, 2000, block.mlp.down.out_features, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        whole, _ = block(x)
        first, state = block(x[:, :700])
        second, _ = block(x[:, 700:], state)
    assert relative_error(torch.cat([first, second], 1), whole) <= 1e-2
