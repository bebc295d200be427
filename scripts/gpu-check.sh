#!/usr/bin/env bash
# GPU readiness in <= 8 minutes on one GPU (benchmarks/gpu_check.py): training speed of z', flip
# and DC-GAN at the gpu scale's shapes with bf16 autocast and channels_last, the generators'
# exactness under autocast, and chapter 2 executed at the gpu scale. --tiny: a CPU check in
# seconds. Uses .venv if there is one (scripts/setup.sh book), else $PYTHON or python3 with
# torch, papermill and this checkout's dependencies already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$py" benchmarks/gpu_check.py "$@"
