#!/bin/bash
# runs/gpu27, call 7 (code 6928103): is the upper blocks' span beside the GRU worth it on short pieces? The bench's
# whole-forward graph at 8K, 16K and 32K with the span from 16 chunks on (as committed) and from 64 or 96 chunks
# on; 3 rounds; no 1M.
export PYTHONPATH=. PYTHONUNBUFFERED=1
F=norm+beside0.25+mean+inplace+mask
AB_VARIANTS=base,$F,$F+min64,$F+min96 AB_ROUNDS=3 AB_SHORT=8192,16384,24576 AB_1M_VARIANTS= \
  AB_PROFILE=$F timeout 280 python runs/gpu27/ab.py > $OUT/ab_run7.txt 2>&1; echo "exit $?" >> $OUT/ab_run7.txt
grep "^round\|exit\|graphed vs\|Error\|error" $OUT/ab_run7.txt | head -60
echo "total ${SECONDS}s"
rm -f $OUT/trace_*.json
