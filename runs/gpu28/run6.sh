#!/bin/bash
# runs/gpu28, call 6 (call 5's ab.py stopped at its own check: a conv made under inference_mode; the GPU tests of
# call 5 ran this library code): ab.py only.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=4 timeout -s INT 560 python -X faulthandler runs/gpu28/ab.py > $OUT/ab_run6.txt 2>&1; echo "exit $?" >> $OUT/ab_run6.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |" $OUT/ab_run6.txt | head -120
echo "total ${SECONDS}s"
