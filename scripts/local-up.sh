#!/usr/bin/env bash
# README command 1: set everything up, then run the main job on its embedded default —
# start the local cloud (moto), deploy the `local` stack into it, write every team's profile and
# .strata/local/env, and run the sample flow as a team. Extra arguments go to `strata local up`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/strata local up "$@"
