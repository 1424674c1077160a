#!/bin/bash
# Session 10, call 1: the GPU tests of the touched files, the A/B (ab.py, with a profile of the new code), gpu_check,
# then the bench with what is left of the call's ~590 s.
export PYTHONPATH=. PYTHONUNBUFFERED=1
{ nvidia-smi -L; python -c "import torch, triton; print(torch.__version__, triton.__version__)"; date -u; } > $OUT/env.txt 2>&1
timeout 100 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests.txt
tail -2 $OUT/gpu_tests.txt
timeout 200 python runs/gpu26/ab.py > $OUT/ab_run1.txt 2>&1; echo "exit $?" >> $OUT/ab_run1.txt
grep -B2 -A30 "^## check" $OUT/ab_run1.txt | grep -v "^|" | head -40; grep "last replay" $OUT/ab_run1.txt
echo "after ab: ${SECONDS}s"
timeout -s ABRT 200 python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "exit $?" >> $OUT/gpu_check.txt
grep -v " ok$" $OUT/gpu_check.txt | tail -5; grep -c " ok$" $OUT/gpu_check.txt
left=$((585 - SECONDS)); echo "bench gets ${left}s"
timeout $left python -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "exit $?" >> $OUT/bench.md
head -9 $OUT/bench.md; echo "total ${SECONDS}s"
rm -f $OUT/trace_*.json
