"""The Triton kernels of the chunked S4D layer (nonattn_core/triton_s4d.py): GPU only, skipped without CUDA + Triton.

nonattn_core/gpu_check.py runs the fuller set on the device machine; these are the same comparisons at small sizes.
"""
import pytest
import torch

from nonattn_core import triton_s4d
from nonattn_core.s4d import S4DConv
from nonattn_core.s4d_chunked import GROUP_GPU, plan_for, triton_chunked_s4d_conv

pytestmark = pytest.mark.skipif(not triton_s4d.available(), reason="needs a CUDA device and Triton")


def relative_error(out, ref):
    wide = torch.complex128 if out.is_complex() else torch.float64
    return float((out.to(wide) - ref.to(wide)).norm() / ref.to(wide).norm())


def fft_path(layer, u, state=None):
    layer.requires_grad_(False)
    with torch.enable_grad():
        return layer(u, state)


@pytest.fixture(scope="module")
def layer():
    torch.manual_seed(0)
    return S4DConv(64, 32, 1e-4, 1e-1).cuda()


@pytest.mark.parametrize("batch,length,with_state", [(1, 1, False), (2, 300, True), (1, 3 * 8192 + 17, True),
                                                     (2, 8192, False)])
def test_fp32_matches_fft(layer, batch, length, with_state):
    u = torch.randn(batch, 64, length, device="cuda")
    state = torch.randn(batch, 64, 16, dtype=torch.complex64, device="cuda") if with_state else None
    ref_y, ref_state = fft_path(layer, u, state)
    plan = plan_for(layer, u.device, triton_s4d.BLOCK, GROUP_GPU)
    y, new_state = triton_s4d.s4d_conv(plan, u, state, out=torch.full_like(u, float("nan")), precise=True)
    assert relative_error(y, ref_y) <= 1e-4
    assert relative_error(new_state, ref_state) <= 1e-4


@pytest.mark.parametrize("strided", [False, True])
def test_bf16_channels_last(layer, strided):
    x = torch.randn(2, 5000, 64, device="cuda").bfloat16()                 # (B, L, H) as the model holds it
    state = torch.randn(2, 64, 16, dtype=torch.complex64, device="cuda")
    ref_y, ref_state = fft_path(layer, x.float().transpose(1, 2), state)
    y, new_state = triton_chunked_s4d_conv(layer, x.transpose(1, 2), state, strided=strided)
    assert y.dtype == torch.bfloat16
    assert relative_error(y, ref_y) <= 1e-2
    assert relative_error(new_state, ref_state) <= 1e-2


def test_inference_path_uses_it_and_streams(layer):
    u = torch.randn(1, 64, 20000, device="cuda")
    with torch.no_grad():
        whole, whole_state = layer(u)
        first, state = layer(u[..., :7000])
        second, last_state = layer(u[..., 7000:], state)
    assert relative_error(torch.cat([first, second], -1), whole) <= 1e-4
    assert relative_error(last_state, whole_state) <= 1e-4
