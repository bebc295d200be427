#!/usr/bin/env bash
# Create .venv (if missing) and install symgan with the extras given as arguments.
#   scripts/setup.sh test      -> what the test suite needs
#   scripts/setup.sh book      -> what the book build needs
# torch is installed first at a pinned version (SYMGAN_TORCH, default 2.13.0, the CPU wheel on
# our machines): an open range would pull a multi-GB CUDA build. An installed torch is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=$(IFS=,; echo "${*:-test}")
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install --quiet "torch==${SYMGAN_TORCH:-2.13.0}"
fi
.venv/bin/pip install --quiet -e ".[${extras}]"
# Headless Chromium renders the built book for the screenshot tests (Debian package).
if [[ ",${extras}," == *",test,"* ]] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: could not install chromium; the screenshot tests will be skipped" >&2
  else
    echo "setup: chromium not found; install it (Debian: apt-get install chromium) to run the screenshot tests" >&2
  fi
fi
echo "setup: .venv ready (extras: ${extras})"
