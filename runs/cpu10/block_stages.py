import time, torch, collections
import torch.nn.functional as F
from nonattn_core.model import NonAttnLM
from nonattn_core.s4d import transpose_tiled
import sys
MODE = sys.argv[1]
m = NonAttnLM.from_pretrained(device="cpu")
blk = m.lower[1]
x0 = (torch.randn(1, 4096, 256) * 0.5).to(torch.bfloat16)
times = collections.defaultdict(list)
def stage(name, fn):
    t = time.perf_counter(); r = fn(); times[name].append(time.perf_counter() - t); return r
with torch.no_grad(), m.inference_autocast():
    print("x dtype", x0.dtype)
    for it in range(25):
        x = x0
        h = stage("norm_ssm", lambda: blk.norm_ssm(x))
        u = stage("ssm: x.float + transpose", lambda: transpose_tiled(h if MODE == "new" else h.float()))
        y, st = stage("ssm: s4d conv", lambda: blk.ssm.conv(u, None))
        yt = stage("ssm: gelu + transpose back + to bf16", lambda: transpose_tiled(F.gelu(y)).to(h.dtype))
        g = stage("ssm: gate_proj", lambda: blk.ssm.gate_proj(h))
        gs = stage("ssm: silu(gate) * y", lambda: yt.mul_(F.silu(g)))
        o = stage("ssm: out_proj", lambda: blk.ssm.out_proj(gs))
        x = stage("residual add 1", lambda: x + o)
        h = stage("norm_conv", lambda: blk.norm_conv(x))
        a, tail = stage("taps", lambda: blk.conv._taps_merged(h, None))
        o = stage("conv out_proj", lambda: blk.conv.out_proj(a))
        x = stage("residual add 2", lambda: x + o)
        h = stage("norm_mlp", lambda: blk.norm_mlp(x))
        up = stage("mlp up", lambda: blk.mlp.up(h))
        value, gate = up.chunk(2, dim=-1)
        p = stage("mlp silu(gate)*value", lambda: F.silu(gate).mul_(value))
        d = stage("mlp down", lambda: blk.mlp.down(p))
        x = stage("residual add 3", lambda: x + d)
    print("dtypes: x", x.dtype, "a", a.dtype, "o", o.dtype, "up", up.dtype, "y", y.dtype)
total = 0
for name, ts in times.items():
    med = sorted(ts[5:])[len(ts[5:]) // 2] * 1000; total += med
    print(f"{name:40} {med:6.2f} ms")
print(f"{'total':40} {total:6.2f} ms")
