"""`strata manifests`: every Kubernetes object and Helm release a stack declares, as YAML a person can read and
diff, and the gates validate (tests/gates/test_k8s_manifests.py).

The program runs in this process with the echo mocks (``tools.planexport.run_stack``: no cloud, no cluster, no
Pulumi CLI), exactly as for ``strata plan-json``. Every registration of a ``kubernetes:*`` custom resource is an
object (a typed resource or a ``CustomResource``: its inputs are the object); ``kubernetes:helm.sh/v3:Release``
registrations are releases; the Kubernetes provider is neither. A ``kubernetes:*`` component (``helm.v4.Chart``,
``yaml.v2.ConfigGroup``) is opaque under mocks, so it is reported as an error rather than silently skipped.

Layout of DIR: ``<namespace>/<kind>-<name>.yaml`` (``_cluster/`` for cluster-scoped objects), ``releases.yaml``
(name, namespace, chart, repository, version, values of each release), and ``.strata-manifests``, the marker that
lets the next run replace the directory's YAML files (a directory without it must be empty).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.markup import escape

from strata.output import console

err = console(stderr=True)
out = console()

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
CLUSTER_DIR = "_cluster"
RELEASES_FILE = "releases.yaml"
MARKER = ".strata-manifests"
SECRET = "[secret]"
# The fields of a Secret that hold its contents.
SECRET_DATA_FIELDS = ("data", "stringData")
# Object fields in the order people expect to read them; the others follow, sorted.
_FIELD_ORDER = ("apiVersion", "kind", "metadata")


@dataclass
class ManifestSet:
    """What a program declares on the Kubernetes side."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)
    # ``<type> <name>`` of kubernetes:* components: opaque under mocks, so neither written nor validated.
    opaque: list[str] = field(default_factory=list)
    # ``<kind> <name>: <input>`` of inputs held as secrets, written as "[secret]".
    redacted: list[str] = field(default_factory=list)


def plain(value: Any) -> Any:
    """``value`` as the files show it: the numbers the resource monitor turned into floats (protobuf has one number
    type) back to ints where they are whole (a port is 12000, not 12000.0), and every mapping's keys sorted (the
    monitor does not keep the program's order), so that two runs give the same files."""
    if isinstance(value, dict):
        return {k: plain(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``mapping`` with ``keys`` first, in that order (the rest as they are)."""
    return {**{k: mapping[k] for k in keys if k in mapping}, **{k: v for k, v in mapping.items() if k not in keys}}


def _object(reg: Any, redacted: list[str]) -> dict[str, Any]:
    inputs = {k: v for k, v in reg.inputs.items() if not k.startswith("__")}
    for key in reg.secret_inputs:
        if key in inputs:
            value = inputs[key]
            # A Secret's data (pulumi-kubernetes always marks it secret) keeps its keys, each value "[secret]": the
            # file still has the Secret's shape, and validates, without what it holds.
            keep_keys = inputs.get("kind") == "Secret" and key in SECRET_DATA_FIELDS and isinstance(value, dict)
            inputs[key] = {k: SECRET for k in value} if keep_keys else SECRET
            redacted.append(f"{inputs.get('kind', reg.type)} {reg.name}: {key}")
    obj = plain(inputs)
    meta = dict(obj.get("metadata") or {})
    if not meta.get("name"):  # Pulumi would auto-name it from the resource name; say so rather than guess the suffix
        meta["name"] = f"{reg.name}-<auto>"
    obj["metadata"] = _first(meta, ("name", "namespace"))
    return _first(obj, _FIELD_ORDER)


def _release(reg: Any, redacted: list[str]) -> dict[str, Any]:
    inputs = reg.inputs
    values = inputs.get("values") or {}
    if "values" in reg.secret_inputs:
        values = SECRET
        redacted.append(f"Release {reg.name}: values")
    return {
        "name": inputs.get("name") or reg.name,
        "namespace": inputs.get("namespace") or "default",
        "chart": inputs.get("chart"),
        "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
        "version": inputs.get("version"),
        "values": plain(values),
    }


def collect(registrations: Iterable[Any]) -> ManifestSet:
    """The objects, releases and opaque components among ``registrations`` (``localcloud.engine.Registration``)."""
    found = ManifestSet()
    for reg in registrations:
        if not reg.type.startswith("kubernetes:"):
            continue
        if not reg.custom:
            found.opaque.append(f"{reg.type} {reg.name}")
        elif reg.type == RELEASE_TYPE:
            found.releases.append(_release(reg, found.redacted))
        else:
            found.objects.append(_object(reg, found.redacted))
    found.releases.sort(key=lambda r: (r["namespace"], r["name"]))
    return found


def relative_path(obj: dict[str, Any]) -> Path:
    """``<namespace>/<kind>-<name>.yaml``, or ``_cluster/<kind>-<name>.yaml`` for a cluster-scoped object."""
    meta = obj["metadata"]
    return Path(meta.get("namespace") or CLUSTER_DIR) / f"{str(obj['kind']).lower()}-{meta['name']}.yaml"


class _Dumper(yaml.SafeDumper):
    """Block style throughout; multi-line strings (a ConfigMap's YAML, a JetStream config) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


class OutputDirError(Exception):
    """The output directory holds files this command did not write."""


def write(found: ManifestSet, out_dir: Path) -> list[Path]:
    """Write every object and ``releases.yaml`` under ``out_dir``; return the files written (relative)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / MARKER).exists():
            raise OutputDirError(f"{out_dir} is not empty and was not written by `strata manifests`")
        for old in sorted(out_dir.rglob("*.yaml")):
            old.unlink()
        for sub in sorted((p for p in out_dir.rglob("*") if p.is_dir()), reverse=True):
            if not any(sub.iterdir()):
                sub.rmdir()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("Written by `strata manifests`; the next run replaces this directory's YAML files.\n")
    written: list[Path] = []
    for obj in found.objects:
        rel = relative_path(obj)
        if rel in written:
            raise ValueError(f"two objects would be written to {rel}: same kind, name and namespace")
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / rel).write_text(dump(obj))
        written.append(rel)
    (out_dir / RELEASES_FILE).write_text(dump(found.releases))
    written.append(Path(RELEASES_FILE))
    return written


def manifests(
    stack: str = typer.Option(..., "--stack", "-s", help="Stack (environment) name: stacks/Pulumi.<stack>.yaml."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Directory to write the YAML files to (empty, or a previous run's)."),
    project_dir: Path = typer.Option(Path("."), help="The Strata repository (holds Pulumi.yaml and stacks/)."),
) -> None:
    """Run the program with echo mocks (no cloud, no cluster) and write every Kubernetes object it declares, one
    YAML file each, and releases.yaml with each Helm release's chart, repository, version and values."""
    from tools.cli import load_or_exit

    platform = load_or_exit(project_dir, stack)
    if not platform.settings.kubernetes.enabled:
        err.print(
            f"[red]error:[/red] stack {stack!r} has no Kubernetes layer: strata:kubernetes.enabled is false in "
            f"stacks/Pulumi.{stack}.yaml, so it declares no Kubernetes object.\n"
            f"fix: set strata:kubernetes.enabled: true there (and give each team environments.{stack}.kubernetes), "
            "or run this for a stack that has the layer (e.g. --stack staging)",
            highlight=False,
        )
        raise typer.Exit(2)
    if not platform.teams:
        err.print(
            f"[red]error:[/red] stack {stack!r} has no teams, and the Kubernetes layer declares its cluster for teams only.\n"
            f"fix: give a team file an environments.{stack} section (stacks/teams/*.yaml)",
            highlight=False,
        )
        raise typer.Exit(2)

    import pulumi  # the program runs in this process: import Pulumi only when asked to

    from infra.config import ConfigError
    from tools.planexport import run_stack

    try:
        run, _ = run_stack(project_dir, stack)
    except ConfigError as exc:
        err.print(exc.render(), highlight=False, markup=False)
        raise typer.Exit(1) from None
    except pulumi.RunError as exc:
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from None
    found = collect(run.registrations)
    try:
        written = write(found, out_dir)
    except OutputDirError as exc:
        err.print(f"[red]error:[/red] {exc}\nfix: pass an empty or new directory to --out", highlight=False)
        raise typer.Exit(2) from None
    _report(stack, found, written, out_dir)
    if found.opaque:
        err.print(
            "[red]error:[/red] opaque under mocks, so not written nor validated (declare typed resources, "
            "CustomResource or helm.v3.Release instead): " + escape(", ".join(found.opaque)),
            highlight=False,
        )
        raise typer.Exit(1)


def _report(stack: str, found: ManifestSet, written: list[Path], out_dir: Path) -> None:
    from rich.table import Table

    table = Table(title=f"stack {stack!r}: Kubernetes objects", title_justify="left")
    for col in ("directory", "objects", "kinds"):
        table.add_column(col, justify="right" if col == "objects" else "left")
    by_dir: dict[str, list[str]] = {}
    for obj in found.objects:
        by_dir.setdefault(relative_path(obj).parent.as_posix(), []).append(str(obj["kind"]))
    for directory, kinds in sorted(by_dir.items()):
        counts = {k: kinds.count(k) for k in sorted(set(kinds))}
        table.add_row(directory, str(len(kinds)), ", ".join(f"{k} x{n}" if n > 1 else k for k, n in counts.items()))
    out.print(table)
    for r in found.releases:
        out.print(f"release {r['namespace']}/{r['name']}: {r['chart']} {r['version']} from {r['repository']}", highlight=False)
    out.print(f"wrote {len(written)} files to {out_dir} ({len(found.objects)} objects, {RELEASES_FILE})", highlight=False)
    if found.redacted:
        err.print(
            f"[yellow]warning:[/yellow] secret inputs written as {escape(SECRET)}: " + escape(", ".join(found.redacted)),
            highlight=False,
        )
