#!/bin/bash
# Session 7, call 5: the committed code (persistent GRU, tuned block shapes): the full bench table, then gpu_check.
export PYTHONPATH=. TIKTOKEN_CACHE_DIR=$PWD/.carry/tiktoken
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env.txt 2>&1
timeout 330 python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
timeout -s ABRT 230 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
cat $OUT/bench.md; grep -v " ok$" $OUT/gpu_check.txt | tail; grep -c " ok$" $OUT/gpu_check.txt
