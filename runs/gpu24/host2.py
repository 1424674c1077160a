"""Device experiment (session 8, call 2): where the host time before a 32K forward_stream's graph replay goes.
Stamps (time.perf_counter) at the entry and exit of each step on the way to the replay; medians over 100 calls,
each started with the GPU idle, at 32K and 8K tokens."""
import statistics
import time

import torch

from nonattn_core import cuda_graphs
from nonattn_core.bench import cuda_time, load_model, ours_forward

torch.backends.cuda.matmul.allow_tf32 = True
model = load_model("cuda")
stamps = []


def stamped(name, fn):
    def wrapper(*args, **kwargs):
        stamps.append((name + " in", time.perf_counter()))
        out = fn(*args, **kwargs)
        stamps.append((name + " out", time.perf_counter()))
        return out
    return wrapper


model.init_state = stamped("init_state", model.init_state)
model.forward_stream = stamped("forward_stream", model.forward_stream)
for name in ("graphed_first_piece", "_graphs_apply", "_graph_for", "_weights_key"):
    setattr(cuda_graphs, name, stamped(name, getattr(cuda_graphs, name)))
plain_replay = torch.cuda.CUDAGraph.replay
torch.cuda.CUDAGraph.replay = stamped("replay", plain_replay)

for length in (32768, 8192, 32768):
    cuda_graphs._stack_graphs.clear()
    cuda_graphs._seen.clear()
    run = ours_forward(model, length, 1 << 20)
    for _ in range(5):
        run()
    segments = {}
    for _ in range(100):
        torch.cuda.synchronize()
        stamps.clear()
        stamps.append(("start", time.perf_counter()))
        run()
        stamps.append(("end", time.perf_counter()))
        for (a, ta), (b, tb) in zip(stamps, stamps[1:]):
            segments.setdefault(f"{a} -> {b}", []).append((tb - ta) * 1e6)
    print(f"## {length:,} tokens: host us per segment (median of 100 calls; GPU idle at start)")
    for name, values in segments.items():
        print(f"{statistics.median(values):8.1f}  {name}")
    print(f"eager forward (cuda_time, 30 calls): {cuda_time(run, 30, 3):.3f} ms", flush=True)

# the single ops on the way, alone (GPU idle before each, as at the start of a call)
ids = torch.randint(0, 100_000, (1, 32768), device="cuda")


def autocast_once():
    with torch.autocast("cuda", dtype=torch.bfloat16):
        pass



buffer = ids.clone()
small, small_buffer = torch.zeros(1, 384, device="cuda"), torch.zeros(1, 384, device="cuda")
empty, empty_buffer = torch.zeros(1, 0, 384, device="cuda"), torch.zeros(1, 0, 384, device="cuda")
for name, fn in [("copy_ of 32K int64 ids", lambda: buffer.copy_(ids)), ("copy_ of (1, 384) float32", lambda: small_buffer.copy_(small)),
                 ("copy_ of an empty tensor", lambda: empty_buffer.copy_(empty)), ("torch.zeros(1, 384)", lambda: torch.zeros(1, 384, device="cuda")),
                 ("autocast enter+exit", autocast_once),
                 ("is_current_stream_capturing", torch.cuda.is_current_stream_capturing)]:
    times = []
    for _ in range(200):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e6)
    print(f"{statistics.median(times):8.1f} us  {name} (GPU idle before)")
