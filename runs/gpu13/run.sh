#!/bin/bash
# The new checkpoint on the H100: needle in a haystack (1K-1M tokens, both readers) and the GPU checks.
export TIKTOKEN_CACHE_DIR=.carry/tiktoken HF_HUB_OFFLINE=1
python -m nonattn_core.needle --haystack .carry/corpus/val.jsonl.xz --lengths 1024,16384,131072,1048576 \
    > "$OUT/needle.md" 2> "$OUT/needle.err"
python -m nonattn_core.gpu_check > "$OUT/gpu_check.txt" 2>&1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > "$OUT/env.txt" 2>&1
cat "$OUT/needle.md"; tail -3 "$OUT/gpu_check.txt"
