#!/bin/bash
# runs/gpu30, call 5 (the committed code): GPU tests, the bench, gpu_check.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; git log --oneline -1 2>/dev/null; } > $OUT/env.txt 2>&1
timeout -k 5 150 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py tests/test_triton_s4d.py > $OUT/gpu_tests.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests.txt
tail -3 $OUT/gpu_tests.txt
timeout -k 5 220 python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
head -14 $OUT/bench.md
left=$((520 - SECONDS)); echo "gpu_check gets ${left}s"
timeout -k 5 -s ABRT $left python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
grep -v " ok$" $OUT/gpu_check.txt | tail -8; grep -c " ok$" $OUT/gpu_check.txt; grep -i "cluster" $OUT/gpu_check.txt
echo "total ${SECONDS}s"
