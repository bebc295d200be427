#!/usr/bin/env bash
# Set everything up and run the whole test suite (ruff, then pytest on every core, a test file
# per worker at a time: tests/test_book.py executes every chapter once, in one session fixture).
# Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n auto --dist loadfile "$@"
