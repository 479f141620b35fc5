"""Run the Strata program in-process, exactly as `pulumi up` would, against a Mocks implementation.

The program (infra/__main__.py) is executed unchanged with the stack's config in the form the
Pulumi CLI hands it over; only the resource monitor differs (Pulumi's mocks instead of the engine).
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings

from core import secret_guard
from infra.config import PROJECT, pulumi_config_strings
from localcloud.engine import RecordingMonitor


@dataclass
class ProgramRun:
    stack: str
    preview: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    """Stack outputs, resolved to plain values (secrets included: never write these out as they are)."""
    annotated_outputs: dict[str, Any] = field(default_factory=dict)
    """The same outputs with every value Pulumi holds as secret wrapped in ``secret_guard.Secret``."""
    registrations: list[Any] = field(default_factory=list)

    def custom_resources(self) -> list[Any]:
        return [r for r in self.registrations if r.custom]

    def redacted_outputs(self) -> Any:
        """The outputs with every secret replaced by ``"[secret]"``, as ``pulumi stack output`` shows them."""
        return secret_guard.redact_secrets(self.annotated_outputs)


async def annotate_secrets(value: Any) -> Any:
    """Resolve ``value`` (Outputs inside dicts/lists) and wrap what Pulumi holds as secret in ``secret_guard.Secret``."""
    if isinstance(value, pulumi.Output):
        secret = await value.is_secret()
        inner = await annotate_secrets(await value.future())
        return secret_guard.Secret(inner) if secret else inner
    if isinstance(value, dict):
        return {k: await annotate_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [await annotate_secrets(v) for v in value]
    return value


def run_program(project_dir: Path, stack: str, mocks: pulumi.runtime.Mocks, preview: bool = False) -> ProgramRun:
    """Execute infra/__main__.py for ``stack`` with ``mocks``; return the stack outputs and every registration.

    Raises ``pulumi.RunError`` (with the rendered config problems) if the config is invalid."""
    project_dir = Path(project_dir).resolve()
    config = pulumi_config_strings(project_dir, stack)
    run = ProgramRun(stack=stack, preview=preview)

    # The root stack resource lives in a context variable that survives set_mocks; without a reset
    # the outputs of an earlier run in this process would leak into this one.
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config, [])

    @pulumi.runtime.test
    def _program():
        runpy.run_path(str(project_dir / "infra" / "__main__.py"), run_name="__main__")
        root = pulumi_settings.get_root_resource()
        outputs = dict(getattr(root, "outputs", {}) or {})

        async def collect() -> None:
            run.annotated_outputs = await annotate_secrets(outputs) if not preview else {}
            run.outputs = secret_guard.unwrap_secrets(run.annotated_outputs)

        return collect()

    try:
        _program()
    finally:
        # The config is process-wide too: left behind, this stack's aws:defaultTags would tag what a
        # later LocalEngine creates outside any program (localcloud/default_tags.py reads it).
        pulumi.runtime.set_all_config({}, [])
    run.registrations = list(monitor.registrations)
    return run
