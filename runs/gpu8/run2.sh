#!/bin/bash
# Second device call: autocast-cache fix in _capture, T=512/G=16 default; checks, tests, bench, 1M A/B, profile.
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu --format=csv > $OUT/env.txt
timeout 150 python3 -m nonattn_core.gpu_check > $OUT/gpu_check.txt 2>&1; echo "gpu_check rc $?" >> $OUT/env.txt
timeout 120 python3 -m pytest -q tests/test_fast_paths.py tests/test_model.py > $OUT/pytest.txt 2>&1; echo "pytest rc $?" >> $OUT/env.txt
timeout 200 python3 -m nonattn_core.bench --device cuda > $OUT/bench.md 2>&1; echo "bench rc $?" >> $OUT/env.txt
timeout 90 python3 -c "
import nonattn_core.s4d_chunked as s
from nonattn_core.bench import main
for b, g in [(256, 16), (512, 16), (256, 16), (512, 16)]:
    s.BLOCK_GPU, s.GROUP_GPU = b, g
    print('BLOCK_GPU', b, 'GROUP_GPU', g)
    main(['--device', 'cuda', '--lengths', '32768,1048576', '--ours-only'])
" > $OUT/block_ab.txt 2>&1
timeout 40 python3 -m nonattn_core.bench --device cuda --profile 32768 > $OUT/profile32k_graphs.txt 2>&1
cat $OUT/env.txt; grep -v " ok$" $OUT/gpu_check.txt; grep "graphed" $OUT/gpu_check.txt; tail -3 $OUT/pytest.txt; cat $OUT/bench.md; grep "BLOCK\|^| [0-9]" $OUT/block_ab.txt; grep "total" $OUT/profile32k_graphs.txt
