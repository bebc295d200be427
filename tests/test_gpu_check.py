"""``scripts/gpu-check.sh`` in its tiny CPU mode: the GPU readiness script runs end to end."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_check_tiny_mode_runs_on_cpu(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    r = subprocess.run(["bash", str(REPO / "scripts" / "gpu-check.sh"), "--tiny", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    for m in ("dcgan", "zprime", "flip"):
        assert re.search(rf"gpu-check: {m}\s+[0-9.]+ images/s", out), out
    for m in ("zprime", "flip"):
        e = float(re.search(rf"{m} relative mirror error: bf16 autocast ([0-9.e+-]+)", out).group(1))
        f = float(re.search(rf"{m} relative mirror error: .* float32 ([0-9.e+-]+)", out).group(1))
        assert e <= 5 * 2.0**-8 and f < 1e-5, out
    control = float(re.search(r"dcgan relative mirror error: bf16 autocast ([0-9.e+-]+)", out).group(1))
    assert control > 0.1, out  # the plain generator is the control: not symmetric
    assert "gpu-check: OK" in out
