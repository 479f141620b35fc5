#!/usr/bin/env bash
# Create the project's venvs and install each from its lock alone (hash-checked, nothing resolved here):
#   .venv-tools  uv, the installer            requirements/tools.lock   (pip --require-hashes)
#   .venv        platform + SDK + dev tools   requirements/dev.lock     (uv pip sync --require-hashes)
#   .venv-gates  checkov (with --gates)       requirements/checkov.lock
#   .venv-iam    parliament, cloudsplaining   requirements/iam.lock
# `uv pip sync` removes whatever the lock does not list, so every installed version equals the lock.
# A venv whose lock changed (its sha256 is kept in the venv) is made anew, so nothing outlives a relock. Used by
# local-up.sh, test.sh (--gates), update-deps.sh (--tools-only) and .ci/run. Relock: scripts/update-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
gates=0
tools_only=0
for arg in "$@"; do
  case "$arg" in
    --gates) gates=1 ;;
    --tools-only) tools_only=1 ;;
    *) echo "usage: bash scripts/bootstrap.sh [--gates | --tools-only]" >&2; exit 2 ;;
  esac
done

# fresh DIR LOCK: true when DIR's venv was not yet installed from this exact LOCK.
fresh() { [ "$(cat "$1/.strata-lock" 2>/dev/null)" = "$(sha256sum "$2" | cut -d' ' -f1)" ]; }
stamp() { sha256sum "$2" | cut -d' ' -f1 >"$1/.strata-lock"; }
make_venv() {
  if [ ! -x "$1/bin/python" ]; then
    echo "==> creating $1 with $($PY --version)"
    "$PY" -m venv "$1"
  fi
}

# uv from its own lock, with the pip that ships with Python. PIP_CONSTRAINT is cleared: a machine-wide
# constraints file (pip.conf) has no hashes and would stop hash-checking mode.
make_venv .venv-tools
if ! fresh .venv-tools requirements/tools.lock; then
  echo "==> installing uv into .venv-tools (requirements/tools.lock)"
  PIP_CONSTRAINT= .venv-tools/bin/python -m pip install --quiet --disable-pip-version-check \
    --require-hashes --no-deps -r requirements/tools.lock
  stamp .venv-tools requirements/tools.lock
fi
[ "$tools_only" = 1 ] && exit 0
uv=.venv-tools/bin/uv

# sync DIR LOCK: DIR holds exactly the lock's packages. A new or outdated venv is made anew by uv,
# which seeds no pip or setuptools of its own (the dev lock carries both).
sync() {
  local dir=$1 lockfile=$2
  if ! fresh "$dir" "$lockfile"; then
    echo "==> installing $lockfile into a new $dir"
    rm -rf "$dir"
    UV_PYTHON_DOWNLOADS=never "$uv" venv --quiet --python "$PY" "$dir"
    # Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set (as on CI), every process would
    # otherwise recompile pulumi_aws, moto and Metaflow on import.
    "$uv" pip sync --quiet --compile-bytecode --python "$dir/bin/python" --require-hashes "$lockfile"
    return 1  # changed
  fi
}

if ! sync .venv requirements/dev.lock || [ ! -f .venv/.strata-editable ]; then
  # Our own two packages, editable and without their dependencies (the lock has them all).
  echo "==> installing Strata (platform + SDK) into .venv"
  "$uv" pip install --quiet --python .venv/bin/python --no-deps --no-build-isolation -e ./sdk -e .
  touch .venv/.strata-editable
  stamp .venv requirements/dev.lock
fi
# Graphviz, a system package, draws `strata diagram`. Installed where this user can (root, or sudo without a
# password, with apt-get); elsewhere the command says what to install. Never fatal: nothing else needs it.
if ! command -v dot >/dev/null 2>&1; then
  as_root=()
  [ "$(id -u)" = 0 ] || { sudo -n true 2>/dev/null && as_root=(sudo -n); }
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ ${#as_root[@]} -gt 0 ]; }; then
    echo "==> installing Graphviz (apt-get install graphviz) for strata diagram"
    { "${as_root[@]}" apt-get install -y -q graphviz >/dev/null 2>&1 \
      || { "${as_root[@]}" apt-get update -q >/dev/null 2>&1 && "${as_root[@]}" apt-get install -y -q graphviz >/dev/null 2>&1; }; } \
      || echo "note: could not install Graphviz; strata diagram needs it (https://graphviz.org/download/)"
  else
    echo "note: Graphviz is not installed and cannot be installed from here; strata diagram needs it (https://graphviz.org/download/)"
  fi
fi
if [ "$gates" = 1 ]; then
  sync .venv-gates requirements/checkov.lock || stamp .venv-gates requirements/checkov.lock
  sync .venv-iam requirements/iam.lock || stamp .venv-iam requirements/iam.lock
fi
