#!/bin/bash
# runs/gpu27, call 6 (6928103 + GRU_POLL_NAP_NS, default 0 = as 6928103): the A/B of a nanosleep between the
# GRU barrier's polls (50 / 200 / 1000 ns), 3 rounds at 32K, 2 at 1M, a profile of nap 200.
export PYTHONPATH=. PYTHONUNBUFFERED=1
F=norm+beside0.25+mean+inplace+mask; L=norm+beside0.5+mean+inplace+mask
AB_VARIANTS=base,$F,$F+nap50,$F+nap200,$F+nap1000 AB_ROUNDS=3 \
  AB_1M_VARIANTS=base,$L,$L+nap200,$L+nap1000 AB_PROFILE=$F+nap200 \
  timeout 250 python runs/gpu27/ab.py > $OUT/ab_run6.txt 2>&1; echo "exit $?" >> $OUT/ab_run6.txt
grep "^round\|exit\|graphed vs\|GRU with\|alone\|Error\|error" $OUT/ab_run6.txt | head -40; grep "_gru_persistent_kernel" $OUT/ab_run6.txt | tail -4
echo "total ${SECONDS}s"
rm -f $OUT/trace_*.json
