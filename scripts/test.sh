#!/usr/bin/env bash
# README command 2: set everything up and run the whole quality gate — lint, import contracts, the type
# checker, then every test layer (unit, component, stack, local-cloud end to end). Starts one shared moto server for the tests that
# need a cloud and stops it on exit. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# --gates: also the scanners' venvs (checkov, parliament, cloudsplaining) the security gates need.
bash scripts/bootstrap.sh --gates
echo "==> ruff"
.venv/bin/ruff check core infra modules localcloud tools sdk tests benchmarks scripts security policy
.venv/bin/ruff format --check core infra modules localcloud tools sdk tests benchmarks scripts security policy
echo "==> import contracts (lint-imports; pyproject.toml [tool.importlinter])"
.venv/bin/lint-imports --no-cache
echo "==> type checker (mypy; pyproject.toml [tool.mypy])"
.venv/bin/mypy
echo "==> docs site (mkdocs build --strict: mkdocs.yml, tools/docs_site.py)"
site=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet --site-dir "$site"
rm -rf "$site"
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
# moto plus the local-cloud hooks (Batch jobs as local processes, Step Functions fixes): localcloud/motoserver.py
MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_PORT=$port .venv/bin/python -m localcloud.motoserver -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 50); do
  .venv/bin/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null && break
  sleep 0.2
done
export STRATA_TEST_MOTO_ENDPOINT="http://127.0.0.1:$port"
echo "==> pytest (shared moto server $STRATA_TEST_MOTO_ENDPOINT)"
.venv/bin/python -m pytest "$@"
