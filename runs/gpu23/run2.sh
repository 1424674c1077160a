#!/bin/bash
# Session 7, call 3: block-shape sweep (linear_residual, taps, persistent GRU), gpu_check with the persistent GRU in
# the model's path, and the bench (ours only) at 8K / 32K / 1M.
export PYTHONPATH=. TIKTOKEN_CACHE_DIR=$PWD/.carry/tiktoken
timeout 300 python runs/gpu23/sweep.py > $OUT/sweep.txt 2>&1; echo "exit $?" >> $OUT/sweep.txt
timeout 150 python -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
timeout 100 python -m nonattn_core.bench --device cuda --ours-only --lengths 8192,32768,1048576 > $OUT/bench.txt 2>&1
echo "exit $?" >> $OUT/bench.txt
grep -v "^ *$" $OUT/sweep.txt | grep -v Warning; grep -v " ok$" $OUT/gpu_check.txt | tail -15; cat $OUT/bench.txt
