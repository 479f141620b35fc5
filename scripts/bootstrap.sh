#!/usr/bin/env bash
# Create .venv (if needed) and install the platform, the SDK and the dev tools into it.
# Idempotent: a second run only re-checks the pins. Used by local-up.sh, test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.strata-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ sdk/pyproject.toml -nt "$stamp" ]; then
  echo "==> installing Strata (platform + SDK + dev tools) into .venv"
  .venv/bin/python -m pip install --quiet --upgrade "pip>=24,<27"
  .venv/bin/python -m pip install --quiet -e ./sdk -e '.[dev]'
  touch "$stamp"
fi
