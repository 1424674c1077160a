#!/bin/bash
# Session 8, call 3: the committed code (09bc847): the bench table, gpu_check, the GPU tests of the touched files.
export PYTHONPATH=. PYTHONUNBUFFERED=1 TIKTOKEN_CACHE_DIR=$PWD/.carry/tiktoken
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env.txt 2>&1
timeout 220 python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
timeout -s ABRT 240 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
timeout 100 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests.txt
cat $OUT/bench.md; grep -v " ok$" $OUT/gpu_check.txt | tail -5; grep -c " ok$" $OUT/gpu_check.txt; tail -3 $OUT/gpu_tests.txt
