"""Speed benchmarks (scripts, not tests): they print a table.

    python -m nonattn_core.bench --device cpu             # streaming encoding of a 1M-token document: tokens/s, peak RSS
    python -m nonattn_core.bench --device cuda            # ours vs a causal-SDPA Transformer at 8K..10M tokens,
                                                          # and the FFT long convolution against the bandwidth floor
"""
from __future__ import annotations

import argparse
import datetime
import platform
import resource
import time

import torch

from .baseline import TransformerBlock
from .config import NonAttnConfig
from .model import NonAttnLM, cpu_multiplies_bf16
from .s4d import S4DConv, fft_causal_conv
from .s4d_chunked import chunked_s4d_conv

MINUTE = 60.0


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # ru_maxrss is KiB on Linux


def load_model(device: str) -> NonAttnLM:
    try:
        return NonAttnLM.from_pretrained(device=device)
    except FileNotFoundError:
        return NonAttnLM(NonAttnConfig()).to(device).eval()


def bench_cpu(tokens: int, piece_tokens: int, threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
    model = load_model("cpu")
    ids = torch.randint(0, 100_000, (tokens,), generator=torch.Generator().manual_seed(0))
    model.encode_document(ids[: 2 * piece_tokens], piece_tokens=piece_tokens)  # warm the cached block matrices (and graphs)
    start = time.perf_counter()
    result = model.encode_document(ids, piece_tokens=piece_tokens)
    elapsed = time.perf_counter() - start
    precision = "bf16 autocast" if cpu_multiplies_bf16() else "float32"
    print(f"# CPU streaming encoding, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"{precision}, torch {torch.__version__}, {datetime.date.today()}")
    print("| tokens | piece | chunks | seconds | tokens/s | peak RSS GB |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {tokens:,} | {piece_tokens} | {result.embeddings.shape[0]:,} | {elapsed:.1f} | {tokens / elapsed:,.0f} "
          f"| {peak_rss_gb():.2f} |")


def cuda_time(fn, repeats: int = 3, warmup: int = 1) -> float:
    """Median milliseconds of fn() with CUDA events, after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(begin.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def back_to_back_ms(fn, calls: int = 20, rounds: int = 7) -> float:
    """Milliseconds per call of fn() run `calls` times back to back (the GPU never waits for the host), median of
    `rounds` rounds timed with CUDA events: for kernels of tens of microseconds."""
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(rounds):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        times.append(begin.elapsed_time(end) / calls)
    return sorted(times)[len(times) // 2]


def measure(fn, repeats: int, warmup: int = 1) -> tuple[float, float]:
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    ms = cuda_time(fn, repeats, warmup)
    return ms, torch.cuda.max_memory_allocated() / 1024 ** 3


def ours_forward(model: NonAttnLM, length: int, piece: int):
    """The whole encoder (all blocks and the supervisor, no LM head), streaming in pieces of at most `piece`."""
    ids = torch.randint(0, 100_000, (1, length), device="cuda")

    @torch.inference_mode()
    def run():
        state = model.init_state(1)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            for start in range(0, length, piece):
                _, state = model.forward_stream(ids[:, start:start + piece], state, flush=True,
                                                return_logits=False, return_hidden=True)
    return run


def transformer_forward(blocks, length: int, d_model: int):
    x = torch.randn(1, length, d_model, device="cuda", dtype=torch.bfloat16)

    @torch.inference_mode()
    def run():
        h = x
        with torch.autocast("cuda", dtype=torch.bfloat16):
            for block in blocks:
                h = block(h)
    return run


GRAPH_MAX_TOKENS = 1 << 17  # whole forwards captured as one CUDA graph up to this length (launch-bound sizes)


def graph_ms(fn, repeats: int) -> float | None:
    """Median ms of replaying fn() captured as one CUDA graph (same input buffer), or None if capture fails."""
    try:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):                                  # warm-up: compile, plans, caches
            fn()
            fn()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fn()
        ms = cuda_time(graph.replay, max(repeats, 10))
    except RuntimeError as error:                                      # capture not supported by some op
        print(f"# CUDA graph capture failed: {str(error).splitlines()[0][:200]}", flush=True)
        return None
    del graph
    torch.cuda.empty_cache()
    return ms


def bench_cuda(lengths: list[int], piece: int, repeats: int, transformer: bool = True, layer: bool = True) -> None:
    torch.backends.cuda.matmul.allow_tf32 = True
    model = load_model("cuda")
    cfg = model.config
    blocks = torch.nn.ModuleList(TransformerBlock(cfg, n_heads=4) for _ in range(cfg.n_layers)).cuda().eval()
    transformer_ms = {}
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, {datetime.date.today()}, bf16 autocast, "
          f"batch 1, d_model {cfg.d_model}, {cfg.n_layers} blocks; ours streams pieces of {piece:,} tokens")
    print("| tokens | ours ms | ours tokens/s | ours peak GB | Transformer ms | Transformer tokens/s | Transformer peak GB "
          "| speed-up | ours ms, CUDA graph | Transformer ms, CUDA graph | speed-up, both graphed |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for length in lengths:
        try:
            # two warm-ups: forward_stream captures its block stacks as CUDA graphs on a shape's second call
            ours_ms, ours_mem = measure(ours_forward(model, length, piece), repeats if length <= 1 << 20 else 1,
                                        warmup=2 if length <= piece else 1)
            ours = (f"{ours_ms:,.1f}", f"{length / ours_ms * 1000:,.0f}", f"{ours_mem:.1f}")
        except torch.OutOfMemoryError:
            ours_ms, ours = None, ("out of memory", "-", "-")
        torch.cuda.empty_cache()
        known = sorted(transformer_ms)
        predicted = transformer_ms[known[-1]] * (length / known[-1]) ** 2 if known else 0.0
        if not transformer:
            tr_ms, tr = None, ("not run", "-", "-")
        elif predicted > MINUTE * 1000:
            tr_ms = predicted
            tr = (f"~{predicted / 1000:,.0f} s (extrapolated, quadratic from {known[-1]:,})", "-", "-")
        else:
            try:
                tr_ms, tr_mem = measure(transformer_forward(blocks, length, cfg.d_model),
                                        repeats if length <= 1 << 18 else 1)
                transformer_ms[length] = tr_ms
                tr = (f"{tr_ms:,.1f}", f"{length / tr_ms * 1000:,.0f}", f"{tr_mem:.1f}")
            except torch.OutOfMemoryError:
                tr_ms, tr = None, ("out of memory", "-", "-")
        torch.cuda.empty_cache()
        speedup = f"{tr_ms / ours_ms:,.1f}x" if tr_ms and ours_ms else "-"
        graphed = ["-", "-", "-"]
        if length <= min(piece, GRAPH_MAX_TOKENS) and ours_ms and transformer:
            ours_graph = graph_ms(ours_forward(model, length, piece), repeats)
            tr_graph = graph_ms(transformer_forward(blocks, length, cfg.d_model), repeats)
            graphed = [f"{ours_graph:,.2f}" if ours_graph else "capture failed",
                       f"{tr_graph:,.2f}" if tr_graph else "capture failed",
                       f"{tr_graph / ours_graph:,.1f}x" if ours_graph and tr_graph else "-"]
        print(f"| {length:,} | {' | '.join(ours)} | {' | '.join(tr)} | {speedup} | {' | '.join(graphed)} |", flush=True)
    if layer:
        bench_fft_layer(cfg)


def bench_fft_layer(cfg: NonAttnConfig, length: int = 1 << 20) -> None:
    """The long convolution layer alone against its floor: bytes it must move / measured copy bandwidth.

    Three implementations of the same convolution: the FFT path (training, gradients on), the chunked path by torch
    matmuls (s4d_chunked.py) and by Triton kernels (triton_s4d.py; what inference runs on GPUs with Triton); all
    are timed, each row says which.
    """
    x = torch.randn(1, cfg.d_model, length, device="cuda")
    with torch.no_grad():
        copy_ms = cuda_time(lambda: x.clone(), repeats=10)
    bandwidth = 2 * x.numel() * 4 / (copy_ms / 1000)                   # bytes read + written per second
    floor_ms = 2 * x.numel() * 4 / bandwidth * 1000                    # read u, write y (float32)
    layer = S4DConv(cfg.d_model, cfg.d_state, cfg.dt_min, cfg.dt_max).cuda()
    rows = []
    with torch.no_grad():
        kernel = layer.kernel.kernel(length)
        rows.append(("FFT causal conv, kernel precomputed (torch.fft)", cuda_time(lambda: fft_causal_conv(x, kernel), 10)))
        n = 2 * length
        kernel_f = torch.fft.rfft(kernel, n=n)
        rows.append(("FFT causal conv, kernel's rFFT precomputed", cuda_time(
            lambda: torch.fft.irfft(torch.fft.rfft(x, n=n) * kernel_f, n=n)[..., :length], 10)))
        x_bf16 = x.bfloat16()
        for block, group in [(64, 32), (128, 32), (256, 16), (512, 8), (512, 16)]:
            rows.append((f"chunked S4D layer, T={block} G={group} (plan cached; D term and state out)",
                         cuda_time(lambda: chunked_s4d_conv(layer, x, None, block, group), 10)))
            rows.append((f"chunked S4D layer, T={block} G={group}, bf16 in and out (vs the bf16 floor)",
                         2 * cuda_time(lambda: chunked_s4d_conv(layer, x_bf16, None, block, group), 10)))
        from . import triton_s4d
        from .s4d_chunked import GROUP_GPU, plan_for, triton_chunked_s4d_conv
        if triton_s4d.available():
            plan = plan_for(layer, x.device, triton_s4d.BLOCK, GROUP_GPU)
            name = f"Triton chunked S4D (triton_s4d.py), T={triton_s4d.BLOCK} M={triton_s4d.TILE_BLOCKS}"
            rows.append((f"{name}, TF32 products", cuda_time(lambda: triton_s4d.s4d_conv(plan, x, precise=False), 10)))
            rows.append((f"{name}, 3-pass TF32 products (float32 accuracy; tiles of at most 64 blocks)",
                         cuda_time(lambda: triton_s4d.s4d_conv(plan, x, precise=True), 10)))
            rows.append((f"{name}, bf16 in and out (vs the bf16 floor)",
                         2 * cuda_time(lambda: triton_s4d.s4d_conv(plan, x_bf16), 10)))
            x_cl = x_bf16.transpose(1, 2).contiguous().transpose(1, 2)        # the model's layout: (B, L, H) memory
            for strided, how in [(True, "read in place"), (False, "copied channels-first first")]:
                rows.append((f"{name}, bf16 channels-last input {how} (vs the bf16 floor)",
                             2 * cuda_time(lambda: triton_chunked_s4d_conv(layer, x_cl, None, strided=strided), 10)))
            del x_cl
        rows.append(("whole S4D layer, inference path, float32 in and out", cuda_time(lambda: layer(x), 10)))
        bf16_ms = cuda_time(lambda: layer(x_bf16), 10)                  # half the bytes: compare with half the floor
        rows.append(("whole S4D layer, inference path, bf16 in and out (what the model runs; vs the bf16 floor)",
                     bf16_ms * 2))
    layer.requires_grad_(False)                                         # gradients on selects the FFT path;
    with torch.enable_grad():                                           # frozen weights: no graph is recorded
        rows.append(("whole S4D layer, FFT path (training's; kernel generated each call)", cuda_time(lambda: layer(x), 3)))
    print(f"\n# S4D long convolution, {cfg.d_model} channels x {length:,} tokens, float32 in and out; "
          f"copy bandwidth {bandwidth / 1e12:.2f} TB/s; tf32 matmuls {torch.backends.cuda.matmul.allow_tf32}")
    print("| op | ms | x floor |")
    print("|---|---:|---:|")
    print(f"| memory-bandwidth floor (read u + write y) | {floor_ms:.2f} | 1.0 |")
    for name, ms in rows:
        shown = ms / 2 if "bf16" in name else ms                        # bf16 rows carry 2x ms for the ratio
        print(f"| {name} | {shown:.2f} | {ms / floor_ms:.1f} |", flush=True)


def plain_path(module):
    """Call `module` through its plain torch path on a GPU: gradients on select it, frozen weights record nothing."""
    module.requires_grad_(False)

    def call(*args):
        with torch.enable_grad():
            return module(*args)
    return call


def bench_ops(length: int = 1 << 20) -> None:
    """Each fused inference op against its plain torch version and its floor (bytes it must move / bandwidth)."""
    from . import triton_ops
    from .block import RMSNorm
    from .cuda_graphs import _capture, graphed_gru
    from .multires_conv import MultiResolutionConv
    from .s4d import SSMMixer

    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = NonAttnConfig()
    D = cfg.d_model
    probe = torch.randn(1 << 28, device="cuda")
    bandwidth = 2 * probe.numel() * 4 / (cuda_time(lambda: probe.clone(), 10) / 1000)
    probe = None                                   # frees the 1 GiB before the ops are timed
    x = torch.randn(1, length, D, device="cuda", dtype=torch.bfloat16)
    rows = []

    def row(op, variant, ms, nbytes):
        floor = nbytes / bandwidth * 1000
        rows.append((op, variant, ms, floor))
        print(f"| {op} | {variant} | {ms:.3f} | {floor:.3f} | {ms / floor:.1f} |", flush=True)

    print(f"# fused ops, {length:,} tokens x d_model {D}, bf16 activations; copy bandwidth {bandwidth / 1e12:.2f} TB/s")
    print("| op | variant | ms | floor ms | x floor |")
    print("|---|---|---:|---:|---:|")
    conv = MultiResolutionConv(D, cfg.conv_kernel, cfg.conv_dilations).cuda()
    taps_bytes = 2 * x.numel() * 2
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        for block_l, block_d, warps in [(32, 128, 4), (16, 128, 4), (32, 64, 4), (8, 256, 4), (16, 256, 8), (32, 256, 8)]:
            ms = cuda_time(lambda: triton_ops.dilated_taps_gelu(conv, x, None, x.dtype, block_l, block_d, warps), 10)
            row("dilated taps + bias + GELU", f"Triton {block_l}x{block_d}, {warps} warps", ms, taps_bytes)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        plain = plain_path(conv)
        row("dilated taps + GELU + out_proj", "plain torch (shifted multiply-adds)", cuda_time(lambda: plain(x), 3),
            taps_bytes)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        row("dilated taps + GELU + out_proj", "fused (what inference runs)", cuda_time(lambda: conv(x), 10), taps_bytes)
    norm = RMSNorm(D).cuda()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        row("RMSNorm", "Triton", cuda_time(lambda: norm(x), 10), 2 * x.numel() * 2)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        plain = plain_path(norm)
        row("RMSNorm", "plain torch", cuda_time(lambda: plain(x), 10), 2 * x.numel() * 2)
    h = torch.randn(1, length, 4 * D, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():
        row("MLP value * silu(gate)", "Triton", cuda_time(lambda: triton_ops.silu_mul(h), 10), 3 * h.numel())
        row("MLP value * silu(gate)", "plain torch", cuda_time(lambda: triton_ops.silu_mul_reference(h), 10),
            3 * h.numel())
        y = torch.randn(1, D, length, device="cuda")
        row("mixer gelu(y) * silu(gate)", "Triton", cuda_time(lambda: triton_ops.gelu_gate(y, x), 10),
            y.numel() * 4 + 2 * x.numel() * 2)
        row("mixer gelu(y) * silu(gate)", "plain torch", cuda_time(lambda: triton_ops.gelu_gate_reference(y, x), 10),
            y.numel() * 4 + 2 * x.numel() * 2)
    mixer = SSMMixer(D, cfg.d_state, cfg.dt_min, cfg.dt_max).cuda()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        row("SSM mixer (S4D + gate + projections)", "inference path", cuda_time(lambda: mixer(x), 10),
            2 * x.numel() * 2)
    gru = torch.nn.GRU(cfg.supervisor_dim, cfg.supervisor_dim, batch_first=True).cuda()
    steps = length // cfg.chunk_size
    xs = torch.randn(1, steps, cfg.supervisor_dim, device="cuda", dtype=torch.bfloat16)
    h0 = torch.zeros(1, 1, cfg.supervisor_dim, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        row(f"GRU, {steps} steps", "cuDNN call", cuda_time(lambda: gru(xs, h0), 5), xs.numel() * 4)
        graph = _capture(lambda a, b: gru(a, b)[0], xs, h0)[0]
        row(f"GRU, {steps} steps", "cuDNN, CUDA-graph replay", cuda_time(graph.replay, 5), xs.numel() * 4)
        graph = _capture(lambda a, b: triton_ops.gru_by_steps(gru, a, b), xs, h0)[0]
        row(f"GRU, {steps} steps", "fused Triton step kernel, CUDA-graph replay", cuda_time(graph.replay, 5),
            xs.numel() * 4)
        del graph
        row(f"GRU, {steps} steps", "graphed_gru (the faster of the two; what inference runs for batches > 1)",
            cuda_time(lambda: graphed_gru(gru, xs, h0), 5), xs.numel() * 4)
        row(f"GRU, {steps} steps", "persistent Triton kernel, all steps in one launch (what batch-1 inference runs)",
            cuda_time(lambda: triton_ops.gru_persistent(gru, xs, h0), 5), xs.numel() * 4)


def profile_cuda(length: int, piece: int) -> None:
    """torch.profiler's table of one forward of the encoder (kernels by total CUDA time)."""
    from torch.profiler import ProfilerActivity, profile

    torch.backends.cuda.matmul.allow_tf32 = True
    model = load_model("cuda")
    run = ours_forward(model, length, piece)
    run()
    run()                                                              # the second call captures CUDA graphs
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        run()
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=30, max_name_column_width=70))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--tokens", type=int, default=1_000_000, help="CPU: document length")
    parser.add_argument("--piece", type=int, default=None, help="tokens per streamed piece (cpu 4096, cuda 1M)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--lengths", default="8192,32768,131072,1048576,10485760", help="CUDA sequence lengths")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=int, default=None, metavar="TOKENS",
                        help="CUDA: print torch.profiler's kernel table for one forward of this many tokens")
    parser.add_argument("--layer-only", action="store_true", help="CUDA: only the long-convolution layer table")
    parser.add_argument("--ours-only", action="store_true", help="CUDA: neither the Transformer nor the layer table")
    parser.add_argument("--ops", action="store_true", help="CUDA: each fused op against its plain version and floor")
    args = parser.parse_args(argv)
    if args.device == "cpu":
        bench_cpu(args.tokens, args.piece or 4096, args.threads)
    elif not torch.cuda.is_available():
        parser.exit(2, "error: --device cuda but no CUDA device is available\n")
    elif args.profile:
        profile_cuda(args.profile, args.piece or (1 << 20))
    elif args.ops:
        bench_ops()
    elif args.layer_only:
        torch.backends.cuda.matmul.allow_tf32 = True
        bench_fft_layer(NonAttnConfig())
    else:
        bench_cuda([int(v) for v in args.lengths.split(",")], args.piece or (1 << 20), args.repeats,
                   transformer=not args.ours_only, layer=not args.ours_only)


if __name__ == "__main__":
    main()
