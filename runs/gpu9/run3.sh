#!/bin/bash
# Third device call: modes padded to 16 (d_state 8 layers), gpu_check with the new checks (longer timeout), tests,
# layer table, then the sweep of tilings (harness restarts after a crash).
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../.."
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu --format=csv > $OUT/env.txt
timeout 250 python3 -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "gpu_check rc $?" >> $OUT/env.txt
timeout 60 python3 -m pytest -q tests/test_triton_s4d.py tests/test_fast_paths.py tests/test_model.py > $OUT/pytest.txt 2>&1; echo "pytest rc $?" >> $OUT/env.txt
timeout 50 python3 -m nonattn_core.bench --device cuda --layer-only > $OUT/layer.md 2>&1; echo "layer rc $?" >> $OUT/env.txt
PYTHONPATH=. timeout 190 python3 runs/gpu9/harness.py > $OUT/sweep.txt 2> $OUT/sweep_err.txt; echo "sweep rc $?" >> $OUT/env.txt
cat $OUT/env.txt; grep -v " ok$" $OUT/gpu_check.txt | tail -20; grep -c " ok$" $OUT/gpu_check.txt; grep triton $OUT/gpu_check.txt
tail -3 $OUT/pytest.txt; grep -i "triton\|floor\|whole" $OUT/layer.md; grep -v "^ \|^-\|Name\|Self" $OUT/sweep.txt; tail -3 $OUT/sweep_err.txt
