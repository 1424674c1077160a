#!/bin/bash
# runs/gpu27, call 3 (working tree after 652789c: + retrieved_mean, the spans' norms in one buffer, the counter
# barrier as an option): the A/B (3 rounds at 32K), GPU tests, gpu_check.
export PYTHONPATH=. PYTHONUNBUFFERED=1
H=norm+beside0.25; L=norm+beside0.5
AB_VARIANTS=base,$H,$H+mean,$H+mean+inplace,$H+mean+inplace+counter AB_ROUNDS=3 \
  AB_1M_VARIANTS=base,$L,$L+mean+inplace,$L+mean+inplace+counter AB_PROFILE=$H+mean+inplace \
  timeout 240 python runs/gpu27/ab.py > $OUT/ab_run3.txt 2>&1; echo "exit $?" >> $OUT/ab_run3.txt
grep -v "^ \|^|" $OUT/ab_run3.txt | head -70; grep "^|" $OUT/ab_run3.txt | head -12
echo "after ab: ${SECONDS}s"
timeout 120 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run3.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run3.txt
tail -3 $OUT/gpu_tests_run3.txt; grep -i "fail\|error" $OUT/gpu_tests_run3.txt | head
left=$((590 - SECONDS)); echo "gpu_check gets ${left}s"
timeout -s ABRT $left python -X faulthandler -m nonattn_core.gpu_check > $OUT/gpu_check_run3.txt 2>&1; echo "exit $?" >> $OUT/gpu_check_run3.txt
grep -v " ok$" $OUT/gpu_check_run3.txt | tail -5; grep -c " ok$" $OUT/gpu_check_run3.txt
echo "total ${SECONDS}s"
rm -f $OUT/trace_*.json
