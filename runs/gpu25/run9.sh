#!/bin/bash
# Session 9, call 9: ab5 (the GRU without a barrier, A/B), then the committed code: bench, gpu_check, GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1 TIKTOKEN_CACHE_DIR=$PWD/.carry/tiktoken
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; git log --oneline -1 2>/dev/null; } > $OUT/env.txt 2>&1
timeout 150 python runs/gpu25/ab5.py > $OUT/ab5_run9.txt 2>&1; echo "exit $?" >> $OUT/ab5_run9.txt
timeout 210 python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
timeout -s ABRT 220 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1 & CHECK=$!
timeout 120 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests.txt
wait $CHECK; echo "exit $?" >> $OUT/gpu_check.txt
cat $OUT/ab5_run9.txt; cat $OUT/bench.md; grep -v " ok$" $OUT/gpu_check.txt | tail -5; grep -c " ok$" $OUT/gpu_check.txt; tail -3 $OUT/gpu_tests.txt
