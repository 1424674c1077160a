#!/bin/bash
# Fourth device call: tiles of 128 blocks (8 warps) by default, 64 (4 warps) for 3-pass TF32; bf16 state product
# always TF32; kernel 1's weighted-sum variant. Sweep, gpu_check, tests, layer table, whole-model A/B.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../.."
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu --format=csv > $OUT/env.txt
PYTHONPATH=. timeout 150 python3 runs/gpu9/harness.py > $OUT/sweep.txt 2> $OUT/sweep_err.txt; echo "sweep rc $?" >> $OUT/env.txt
timeout 200 python3 -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "gpu_check rc $?" >> $OUT/env.txt
timeout 60 python3 -m pytest -q tests/test_triton_s4d.py tests/test_fast_paths.py tests/test_model.py > $OUT/pytest.txt 2>&1; echo "pytest rc $?" >> $OUT/env.txt
timeout 50 python3 -m nonattn_core.bench --device cuda --layer-only > $OUT/layer.md 2>&1; echo "layer rc $?" >> $OUT/env.txt
timeout 110 python3 -c "
import nonattn_core.s4d_chunked as s, nonattn_core.triton_s4d as t
from nonattn_core.bench import main
for use, weights in [(False, False), (True, False), (True, True)]:
    s.USE_TRITON, t.OWN_BY_WEIGHTS = use, weights
    print('USE_TRITON', use, 'OWN_BY_WEIGHTS', weights)
    main(['--device', 'cuda', '--lengths', '8192,32768,1048576', '--ours-only'])
" > $OUT/model_ab.txt 2>&1; echo "model A/B rc $?" >> $OUT/env.txt
cat $OUT/env.txt; grep -v "^ \|^-\|Name\|Self" $OUT/sweep.txt; tail -3 $OUT/sweep_err.txt
grep -v " ok$" $OUT/gpu_check.txt | tail -20; grep -c " ok$" $OUT/gpu_check.txt; grep "OWN_BY\|scan steps\|TF32 products" $OUT/gpu_check.txt
tail -3 $OUT/pytest.txt; grep -i "triton\|floor\|whole" $OUT/layer.md; grep "USE_TRITON\|^| [0-9]" $OUT/model_ab.txt
