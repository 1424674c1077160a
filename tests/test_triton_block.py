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


def test_block_fused_path_matches_float32(block):
    x = torch.randn(1, 2000, block.mlp.down.out_features, device="cuda")
    with torch.no_grad():
        reference, _ = block(x)                                        # float32: the plain path
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fused, _ = block(x.bfloat16())                             # bf16: the fused residual path
    assert relative_error(fused, reference) <= 2e-2
