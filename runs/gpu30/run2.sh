#!/bin/bash
# runs/gpu30, call 2: GRU barrier variants alone and in the 32K forward; profiles (base, lower split).
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=3 timeout -s INT 420 python -X faulthandler runs/gpu30/ab2.py > $OUT/ab_run2.txt 2>&1; echo "exit $?" >> $OUT/ab_run2.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run2.txt | head -90
echo "total ${SECONDS}s"
