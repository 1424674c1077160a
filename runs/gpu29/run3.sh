#!/bin/bash
# runs/gpu29, call 3: the working tree (new defaults, gated_mlp_residual, table_rows) against the committed settings;
# then the GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=3 AB_SHORT=8192 timeout -s INT 420 python -X faulthandler runs/gpu29/ab3.py > $OUT/ab_run3.txt 2>&1; echo "exit $?" >> $OUT/ab_run3.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run3.txt | head -120
timeout 150 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py tests/test_triton_s4d.py > $OUT/gpu_tests_run3.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run3.txt
tail -15 $OUT/gpu_tests_run3.txt
echo "total ${SECONDS}s"
