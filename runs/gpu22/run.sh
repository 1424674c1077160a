#!/bin/bash
# Fourth training stage on the lent H100: the third stage's recipe (runs/gpu21/run.sh) again, from its weights (the
# tracked checkpoint, staged in runs/stage by an earlier call on the same warm machine), into runs/main4, seed 6.
RUN=main4 SEED=6 exec bash runs/gpu21/run.sh
