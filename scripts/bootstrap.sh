#!/usr/bin/env bash
# Create .venv (if needed) and install the platform, the SDK and the dev tools into it.
# With --gates, also the scanners' own venvs: .venv-gates (checkov) and .venv-iam (parliament,
# cloudsplaining) — each pins libraries that conflict with .venv (see security/requirements-*.txt).
# Idempotent: a second run only re-checks the pins. Used by local-up.sh, test.sh (--gates) and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
gates=0
for arg in "$@"; do
  case "$arg" in
    --gates) gates=1 ;;
    *) echo "usage: bash scripts/bootstrap.sh [--gates]" >&2; exit 2 ;;
  esac
done
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

# tool_venv DIR REQUIREMENTS: a venv holding only the pinned tool, re-installed when the pins change.
tool_venv() {
  local dir=$1 requirements=$2
  if [ ! -x "$dir/bin/python" ]; then
    echo "==> creating $dir with $($PY --version)"
    "$PY" -m venv "$dir"
  fi
  local tool_stamp=$dir/.strata-installed
  if [ ! -f "$tool_stamp" ] || [ "$requirements" -nt "$tool_stamp" ]; then
    echo "==> installing $requirements into $dir"
    "$dir/bin/python" -m pip install --quiet --upgrade "pip>=24,<27"
    "$dir/bin/python" -m pip install --quiet -r "$requirements"
    touch "$tool_stamp"
  fi
}
if [ "$gates" = 1 ]; then
  tool_venv .venv-gates security/requirements-checkov.txt
  tool_venv .venv-iam security/requirements-iam.txt
fi
