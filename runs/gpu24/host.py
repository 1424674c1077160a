"""Device experiment (session 8): host time before the graph replay of a 32K forward_stream (the weights key walked
all ~180 parameters), and bf16 weight copies cached (bf16_weights.py) instead of cast by autocast in every replay.
A/B in one process, each variant twice; then a profile of the final variant (host ops and kernels)."""
import statistics
import time

import torch

from nonattn_core import bf16_weights, cuda_graphs
from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward

torch.backends.cuda.matmul.allow_tf32 = True
model = load_model("cuda")
new_key = cuda_graphs._weights_key


def old_key(module):
    return tuple((p.data_ptr(), p._version) for p in module.parameters())


def per_call_us(fn, calls=2000):
    fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


print("## host cost alone, us per call")
print(f"weights key, old (module.parameters() walked): {per_call_us(lambda: old_key(model)):.1f}")
print(f"weights key, new (list kept, map over it): {per_call_us(lambda: new_key(model)):.1f}")
print(f"model.init_state(1): {per_call_us(lambda: model.init_state(1)):.1f}")

stamps = []                                  # host clock at the start and end of each CUDA-graph replay
plain_replay = torch.cuda.CUDAGraph.replay


def stamped_replay(self):
    stamps.append(time.perf_counter())
    plain_replay(self)
    stamps.append(time.perf_counter())


def host_ms(run, calls=30):
    """Medians over calls (GPU idle at each start): host ms until the replay starts, in the replay call, in all."""
    torch.cuda.CUDAGraph.replay = stamped_replay
    before, inside, total = [], [], []
    try:
        for _ in range(calls):
            torch.cuda.synchronize()
            stamps.clear()
            start = time.perf_counter()
            run()
            end = time.perf_counter()
            if stamps:
                before.append((stamps[0] - start) * 1e3)
                inside.append((stamps[1] - stamps[0]) * 1e3)
            total.append((end - start) * 1e3)
    finally:
        torch.cuda.CUDAGraph.replay = plain_replay
    median = lambda v: statistics.median(v) if v else float("nan")
    return median(before), median(inside), median(total)


variants = {"old key, autocast casts": (old_key, False),
            "new key, autocast casts": (new_key, False),
            "new key, cached bf16 weights": (new_key, True)}
print("## forward_stream (bench's ours_forward), ms: eager = the model's own path (replays its first-piece graph);"
      " graph = the bench's whole-forward graph; host = host ms before the replay / in replay() / whole call")
for length in (32768, 8192):
    for round_ in (1, 2):
        for name, (key, cached) in variants.items():
            cuda_graphs._weights_key, bf16_weights.ENABLED = key, cached
            cuda_graphs._stack_graphs.clear()
            cuda_graphs._seen.clear()
            run = ours_forward(model, length, 1 << 20)
            for _ in range(3):
                run()
            eager = cuda_time(run, 30, 3)
            before, inside, total = host_ms(run)
            graphed = graph_ms(run, 20)
            print(f"{length:,} | round {round_} | {name} | eager {eager:.3f} | graph {graphed:.3f} | host {before:.3f} /"
                  f" {inside:.3f} / {total:.3f}", flush=True)

print("## profile of the final variant, 10 calls at 32K (the model's own path)")
from torch.profiler import ProfilerActivity, profile
cuda_graphs._weights_key, bf16_weights.ENABLED = new_key, True
cuda_graphs._stack_graphs.clear()
cuda_graphs._seen.clear()
run = ours_forward(model, 32768, 1 << 20)
for _ in range(3):
    run()
torch.cuda.synchronize()
with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
    for _ in range(10):
        run()
    torch.cuda.synchronize()
averages = prof.key_averages()
print(averages.table(sort_by="self_cpu_time_total", row_limit=30, max_name_column_width=70))
print(averages.table(sort_by="cuda_time_total", row_limit=30, max_name_column_width=90))
