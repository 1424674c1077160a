#!/bin/bash
# runs/gpu29, call 2: knobs (S4D, gelu_gate, taps tiles), cuBLAS entries for the up projection, a Triton gated up
# projection (plain / persistent TMA), then the whole forward with the winners.
export PYTHONPATH=. PYTHONUNBUFFERED=1
AB_ROUNDS=3 timeout -s INT 560 python -X faulthandler runs/gpu29/ab2.py > $OUT/ab_run2.txt 2>&1; echo "exit $?" >> $OUT/ab_run2.txt
grep -v "^ *[0-9.]* *[0-9.]* *[0-9.-]* *[0-9]* \|^| *[0-9.]* |\|^s4d \|^taps \|^gelu_gate \|^upgated " $OUT/ab_run2.txt | head -150
echo "total ${SECONDS}s"
