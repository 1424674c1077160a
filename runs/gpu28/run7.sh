#!/bin/bash
# runs/gpu28, call 7: the taps kernel's tail branch hoisted out of its shift loop (part of "micro" from here on);
# "dup" is a part that changes nothing: micro+dup vs micro and micro+mlp+dup vs micro+mlp show how far apart two
# captures of the same code land. 8K and 16K too. Then the GPU tests.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_VARIANTS=base,micro,micro+dup,micro+mlp,micro+mlp+dup,micro+mlp+gate AB_1M_VARIANTS=base,micro,micro+gate,micro+mlp+gate \
AB_SHORT=8192,16384 AB_ROUNDS=4 AB_PROFILE=micro+mlp timeout -s INT 470 python -X faulthandler runs/gpu28/ab.py > $OUT/ab_run7.txt 2>&1; echo "exit $?" >> $OUT/ab_run7.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |\|^micro taps\|^micro s4d\|^B=" $OUT/ab_run7.txt | head -120
left=$((585 - SECONDS)); echo "tests get ${left}s"
timeout $left python -m pytest -q -p no:cacheprovider tests/test_fast_paths.py tests/test_triton_block.py > $OUT/gpu_tests_run7.txt 2>&1; echo "exit $?" >> $OUT/gpu_tests_run7.txt
tail -3 $OUT/gpu_tests_run7.txt
echo "total ${SECONDS}s"
