#!/bin/bash
# runs/gpu29, call 5 (the final code, committed): GPU tests, the bench, gpu_check.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env.txt 2>&1
timeout 120 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py tests/test_triton_s4d.py > $OUT/gpu_tests.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests.txt
tail -2 $OUT/gpu_tests.txt
timeout 200 python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
head -12 $OUT/bench.md
left=$((440 - SECONDS)); echo "gpu_check gets ${left}s"
timeout -s ABRT $left python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
grep -v " ok$" $OUT/gpu_check.txt | tail -5; grep -c " ok$" $OUT/gpu_check.txt
echo "total ${SECONDS}s"
