#!/bin/bash
# Session 7, call 4: gpu_check (timed out silently in call 3: a traceback on SIGABRT says where), then the rest of
# the sweep (mlp.down, 1M, taps, GRU units).
export PYTHONPATH=. TIKTOKEN_CACHE_DIR=$PWD/.carry/tiktoken
timeout -s ABRT 240 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
timeout 300 python runs/gpu23/sweep.py > $OUT/sweep.txt 2>&1; echo "exit $?" >> $OUT/sweep.txt
grep -v " ok$" $OUT/gpu_check.txt | tail -40; grep -v "^ *$" $OUT/sweep.txt | grep -v Warning
