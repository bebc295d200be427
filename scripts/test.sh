#!/usr/bin/env bash
# Set everything up and run the whole test suite (ruff, then pytest on every core: the book's
# tests, which execute every chapter once, share one worker). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n auto --dist loadgroup "$@"
