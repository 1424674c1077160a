#!/bin/bash
# Session 8, call 1: host-time / cached-bf16-weights A/B and profile (host.py), the bench table, gpu_check.
export PYTHONPATH=. PYTHONUNBUFFERED=1 TIKTOKEN_CACHE_DIR=$PWD/.carry/tiktoken
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; git log -1 --format=%h 2>/dev/null; } > $OUT/env.txt 2>&1
timeout 150 python runs/gpu24/host.py > $OUT/host_run1.txt 2>&1; echo "exit $?" >> $OUT/host_run1.txt
timeout 200 python -m nonattn_core.bench --device cuda > $OUT/bench_run1.md 2>&1; echo "exit $?" >> $OUT/bench_run1.md
timeout -s ABRT 230 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check_run1.txt 2>&1; echo "exit $?" >> $OUT/gpu_check_run1.txt
grep -v "^ *$" $OUT/host_run1.txt | grep -v "^---\|^ *\[" | head -60 | cut -c1-200; cat $OUT/bench_run1.md; grep -v " ok$" $OUT/gpu_check_run1.txt | tail -8; grep -c " ok$" $OUT/gpu_check_run1.txt
