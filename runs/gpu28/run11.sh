#!/bin/bash
# runs/gpu28, call 11 (the final code, 31c4989): GPU tests, the bench, gpu_check.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; git log --oneline -1 | cut -c1-60; } > $OUT/env.txt 2>&1
timeout 110 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests.txt
tail -2 $OUT/gpu_tests.txt
timeout 200 python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
head -9 $OUT/bench.md
left=$((590 - SECONDS)); echo "gpu_check gets ${left}s"
timeout -s ABRT $left python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
grep -v " ok$" $OUT/gpu_check.txt | tail -5; grep -c " ok$" $OUT/gpu_check.txt; grep "B=1" $OUT/gpu_check.txt
echo "total ${SECONDS}s"
