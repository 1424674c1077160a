#!/bin/bash
# runs/gpu28, call 5 (fewer small launches a block: "micro"; the gate from 64K tokens on): ab.py
# (checks, kernel sweeps, whole-forward A/B), then the GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=4 timeout -s INT 430 python -X faulthandler runs/gpu28/ab.py > $OUT/ab_run5.txt 2>&1; echo "exit $?" >> $OUT/ab_run5.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run5.txt | head -120
left=$((585 - SECONDS)); echo "tests get ${left}s"
timeout $left python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run5.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run5.txt
tail -8 $OUT/gpu_tests_run5.txt
echo "total ${SECONDS}s"
