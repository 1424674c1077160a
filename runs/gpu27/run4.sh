#!/bin/bash
# runs/gpu27, call 4 (working tree after 652789c: retrieved_mean, the spans' norms in one buffer, + the mask kernel
# and one cast of the keys, the GRU reading bf16 inputs; the counter barrier gone):
# the A/B (3 rounds at 32K), GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
H=norm+beside0.25+mean+inplace; L=norm+beside0.5+mean+inplace
AB_VARIANTS=base,$H,$H+mask,$H+mask+gi16 AB_ROUNDS=3 \
  AB_1M_VARIANTS=base,$L,$L+mask+gi16 AB_PROFILE=$H+mask+gi16 \
  timeout 240 python runs/gpu27/ab.py > $OUT/ab_run4.txt 2>&1; echo "exit $?" >> $OUT/ab_run4.txt
grep -v "^ \|^|" $OUT/ab_run4.txt | head -70; grep "^|" $OUT/ab_run4.txt | head -12
echo "after ab: ${SECONDS}s"
timeout 120 python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run4.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run4.txt
tail -3 $OUT/gpu_tests_run4.txt; grep -i "fail\|error" $OUT/gpu_tests_run4.txt | head
echo "total ${SECONDS}s"
rm -f $OUT/trace_*.json
