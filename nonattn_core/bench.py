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
from .model import NonAttnLM
from .s4d import S4DConv, fft_causal_conv

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
    model.encode_document(ids[: 2 * piece_tokens], piece_tokens=piece_tokens)  # warm the power-table cache
    start = time.perf_counter()
    result = model.encode_document(ids, piece_tokens=piece_tokens)
    elapsed = time.perf_counter() - start
    print(f"# CPU streaming encoding, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, {datetime.date.today()}")
    print("| tokens | piece | chunks | seconds | tokens/s | peak RSS GB |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {tokens:,} | {piece_tokens} | {result.embeddings.shape[0]:,} | {elapsed:.1f} | {tokens / elapsed:,.0f} "
          f"| {peak_rss_gb():.2f} |")


def cuda_time(fn, repeats: int = 3) -> float:
    """Median milliseconds of fn() with CUDA events, after one warm-up call."""
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


def measure(fn, repeats: int) -> tuple[float, float]:
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    ms = cuda_time(fn, repeats)
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


def bench_cuda(lengths: list[int], piece: int, repeats: int) -> None:
    torch.backends.cuda.matmul.allow_tf32 = True
    model = load_model("cuda")
    cfg = model.config
    blocks = torch.nn.ModuleList(TransformerBlock(cfg, n_heads=4) for _ in range(cfg.n_layers)).cuda().eval()
    transformer_ms = {}
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, {datetime.date.today()}, bf16 autocast, "
          f"batch 1, d_model {cfg.d_model}, {cfg.n_layers} blocks; ours streams pieces of {piece:,} tokens")
    print("| tokens | ours ms | ours tokens/s | ours peak GB | Transformer ms | Transformer tokens/s | Transformer peak GB | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for length in lengths:
        try:
            ours_ms, ours_mem = measure(ours_forward(model, length, piece), repeats if length <= 1 << 20 else 1)
            ours = (f"{ours_ms:,.1f}", f"{length / ours_ms * 1000:,.0f}", f"{ours_mem:.1f}")
        except torch.OutOfMemoryError:
            ours_ms, ours = None, ("out of memory", "-", "-")
        torch.cuda.empty_cache()
        known = sorted(transformer_ms)
        predicted = transformer_ms[known[-1]] * (length / known[-1]) ** 2 if known else 0.0
        if predicted > MINUTE * 1000:
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
        print(f"| {length:,} | {' | '.join(ours)} | {' | '.join(tr)} | {speedup} |", flush=True)
    bench_fft_layer(cfg)


@torch.inference_mode()
def bench_fft_layer(cfg: NonAttnConfig, length: int = 1 << 20) -> None:
    """The FFT long convolution alone against its floor: bytes it must move / measured copy bandwidth."""
    x = torch.randn(1, cfg.d_model, length, device="cuda")
    copy_ms = cuda_time(lambda: x.clone(), repeats=10)  # inference mode: nothing kept for a backward pass
    bandwidth = 2 * x.numel() * 4 / (copy_ms / 1000)                   # bytes read + written per second
    floor_ms = 2 * x.numel() * 4 / bandwidth * 1000                    # read u, write y (float32)
    layer = S4DConv(cfg.d_model, cfg.d_state, cfg.dt_min, cfg.dt_max).cuda()
    kernel = layer.kernel.kernel(length)
    conv_ms = cuda_time(lambda: fft_causal_conv(x, kernel), repeats=10)
    full_ms = cuda_time(lambda: layer(x), repeats=3)
    print(f"\n# FFT long convolution, {cfg.d_model} channels x {length:,} tokens, float32; "
          f"copy bandwidth {bandwidth / 1e12:.2f} TB/s")
    print("| op | ms | x floor |")
    print("|---|---:|---:|")
    print(f"| memory-bandwidth floor (read u + write y) | {floor_ms:.2f} | 1.0 |")
    print(f"| FFT causal conv, kernel precomputed | {conv_ms:.2f} | {conv_ms / floor_ms:.1f} |")
    print(f"| whole S4D layer (kernel generated + state) | {full_ms:.2f} | {full_ms / floor_ms:.1f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--tokens", type=int, default=1_000_000, help="CPU: document length")
    parser.add_argument("--piece", type=int, default=None, help="tokens per streamed piece (cpu 4096, cuda 256K)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--lengths", default="8192,32768,131072,1048576,10485760", help="CUDA sequence lengths")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.device == "cpu":
        bench_cpu(args.tokens, args.piece or 4096, args.threads)
    elif not torch.cuda.is_available():
        parser.exit(2, "error: --device cuda but no CUDA device is available\n")
    else:
        bench_cuda([int(v) for v in args.lengths.split(",")], args.piece or (1 << 18), args.repeats)


if __name__ == "__main__":
    main()
