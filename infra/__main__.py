"""Entry point of `pulumi up` (Pulumi.yaml: `main: infra/`). It only composes; see infra/program.py."""

import sys
from pathlib import Path

# `main: infra/` puts infra/ first on sys.path; the repository root holds the `infra` and `modules`
# packages, so make it importable whether or not the project was pip-installed.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra.program import main  # noqa: E402

main(ROOT)
