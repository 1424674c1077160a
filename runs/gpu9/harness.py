"""Runs sweep.py, restarting it after the config that killed it (a CUDA error ends the process's context)."""
import subprocess
import sys
sys.path.insert(0, "runs/gpu9")

sys.path.insert(0, ".")
from sweep import CONFIGS  # noqa: E402

start = 0
while start < len(CONFIGS):
    proc = subprocess.run([sys.executable, "runs/gpu9/sweep.py", "--start", str(start)], capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": "."})
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr[-3000:])
    if proc.returncode == 0:
        break
    done = [line for line in proc.stdout.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    last = int(done[-1].split("|")[1]) if done else start
    print(f" crashed (rc {proc.returncode}): {proc.stderr.strip().splitlines()[-1][:200] if proc.stderr.strip() else ''} |",
          flush=True)
    start = last + 1
