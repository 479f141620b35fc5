#!/usr/bin/env bash
# Relock every environment the project creates to the newest versions its ranges allow, then install
# the new locks and run the whole suite. Upgrading is a deliberate change: review `git diff requirements/
# policy/requirements.txt`, and commit the locks only if the suite passes.
#
#   bash scripts/update-deps.sh                 # relock to the newest allowed, install, run scripts/test.sh
#   bash scripts/update-deps.sh --no-upgrade    # relock only what the ranges force (after editing a range)
#   bash scripts/update-deps.sh --no-test       # relock and install, skip the suite
#   bash scripts/update-deps.sh -P moto         # upgrade one package only (uv's --upgrade-package)
#
# The ranges live in pyproject.toml, sdk/pyproject.toml, requirements/*.in and policy/requirements.in;
# versions the ranges allow but the project refuses are in requirements/constraints.txt, with reasons.
set -euo pipefail
cd "$(dirname "$0")/.."
upgrade=(--upgrade)
run_tests=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-upgrade) upgrade=() ;;
    --no-test) run_tests=0 ;;
    -P|--upgrade-package) upgrade=(--upgrade-package "$2"); shift ;;
    *) echo "usage: bash scripts/update-deps.sh [--no-upgrade | -P PACKAGE] [--no-test]" >&2; exit 2 ;;
  esac
  shift
done
bash scripts/bootstrap.sh --tools-only
uv=.venv-tools/bin/uv
# Every lock is for the Python the venvs are made with (python3 on PATH, or $PYTHON).
pyver=$("${PYTHON:-python3}" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
lock() {  # lock OUTPUT INPUT... : compile with hashes, constraints applied
  local out=$1; shift
  echo "==> locking $out"
  "$uv" pip compile --quiet --python-version "$pyver" --generate-hashes --custom-compile-command "bash scripts/update-deps.sh" "${upgrade[@]}" \
    -c requirements/constraints.txt "$@" -o "$out"
}
lock requirements/tools.lock requirements/tools.in
lock requirements/dev.lock pyproject.toml sdk/pyproject.toml --extra dev requirements/build.in
lock requirements/checkov.lock requirements/checkov.in
lock requirements/iam.lock requirements/iam.in
lock policy/requirements.txt policy/requirements.in
git --no-pager diff --stat -- requirements policy/requirements.txt || true
bash scripts/bootstrap.sh --gates
if [ "$run_tests" = 1 ]; then
  exec bash scripts/test.sh
fi
