"""runs/gpu28, call 10: the bench's whole-forward graph at 32K in this process (CUBLAS_WORKSPACE_CONFIG as the
caller set it): three medians of 20 replays, and the memsets and cuBLAS kernels of one replay."""
import json
import os

import torch
from torch.profiler import ProfilerActivity, profile

from nonattn_core.bench import cuda_time, graph_ms, load_model, ours_forward

torch.backends.cuda.matmul.allow_tf32 = True
model = load_model("cuda")
times = [graph_ms(ours_forward(model, 32768, 1 << 20), 20) for _ in range(3)]
run = ours_forward(model, 32768, 1 << 20)
side = torch.cuda.Stream()
side.wait_stream(torch.cuda.current_stream())
with torch.cuda.stream(side):
    run(); run()
torch.cuda.current_stream().wait_stream(side)
graph = torch.cuda.CUDAGraph()
with torch.cuda.graph(graph):
    run()
graph.replay()
torch.cuda.synchronize()
with profile(activities=[ProfilerActivity.CUDA]) as prof:
    graph.replay()
    torch.cuda.synchronize()
prof.export_chrome_trace("/tmp/ws_replay.json")
events = [e for e in json.load(open("/tmp/ws_replay.json"))["traceEvents"] if e.get("cat") in ("kernel", "gpu_memset")]
gemms = sorted((round(e["dur"], 1), e["name"][:45]) for e in events if "nvjet" in e["name"])
print(f"CUBLAS_WORKSPACE_CONFIG={os.environ.get('CUBLAS_WORKSPACE_CONFIG', '(unset)')}: graph 32K "
      f"{' / '.join(f'{t:.3f}' for t in times)} ms; {sum(e['cat'] == 'gpu_memset' for e in events)} memsets; "
      f"largest cuBLAS kernels {gemms[-3:]}; replay {cuda_time(graph.replay, 20):.3f} ms", flush=True)
