#!/usr/bin/env bash
# Set everything up and build the whole book at cpu scale (training included, or reused from
# runs/ by load_or_train). SYMGAN_SCALE=smoke|cpu|gpu overrides the scale.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh book
export SYMGAN_SCALE="${SYMGAN_SCALE:-cpu}"
if [ -f _toc.yml ]; then
  exec .venv/bin/python -m symgan book --build --scale "$SYMGAN_SCALE"
else
  # Until the book lands: the architecture demo.
  exec .venv/bin/python -m symgan demo --out outputs/demo_series.png
fi
