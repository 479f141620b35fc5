"""`strata diagram`: the architecture drawn from what the program declares (tools/diagram.py).

The pictures are built from the real program under echo mocks; the assertions read the Graphviz source that
``diagrams`` builds (node ids, cluster labels, edges), so most tests need no Graphviz. The committed
docs/img/architecture-prod.svg is compared with the program by the text it shows, not byte for byte, so a
different Graphviz version does not fail it.
"""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from infra.config import load_from_files  # noqa: E402
from localcloud.plan import PlainMocks  # noqa: E402
from localcloud.runner import run_program  # noqa: E402
from tools import diagram as d  # noqa: E402

COMMITTED = REPO / "docs/img/architecture-prod.svg"
REGENERATE = ".venv/bin/strata diagram --stack prod -o docs/img/architecture-prod.svg"
EDGE = re.compile(r"^\s*(\S+) -> (\S+) \[([^\]]*)\]", re.M)
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (scripts/bootstrap.sh)")


class Drawn:
    """One stack's program run, its picture, and the Graphviz source of the drawing."""

    def __init__(self, stack: str) -> None:
        self.platform = load_from_files(REPO, stack)
        self.run = run_program(REPO, stack, PlainMocks())
        self.picture = d.architecture(stack, d.declared(self.run), self.run.outputs)
        self.source = d.dot_source(self.picture)

    def edges(self, visible: bool = True) -> list[tuple[str, str, str]]:
        """(tail, head, label) of every edge in the source; the layout's invisible edges left out unless asked."""
        found = []
        for tail, head, attrs in EDGE.findall(self.source):
            if ("style=invis" in attrs) != visible:
                label = re.search(r'label="([^"]*)"', attrs)
                found.append((tail.strip('"'), head.strip('"'), label.group(1) if label else ""))
        return found

    def group(self, group_id: str) -> d.Group:
        return next(g for g in self.picture.groups() if g.id == group_id)

    def count(self, resource_type: str) -> int:
        return sum(r.type == resource_type for r in self.run.custom_resources())


@pytest.fixture(scope="module")
def prod() -> Drawn:
    return Drawn("prod")


@pytest.fixture(scope="module")
def dev() -> Drawn:
    return Drawn("dev")


# ---------------------------------------------------------------- pure parts


def test_a_resource_belongs_to_the_layer_of_the_component_that_declared_it():
    assert (
        d.layer_of("urn:pulumi:prod::strata::strata:compute:Compute$aws:batch/jobQueue:JobQueue::compute-fraud-cpu") == "compute"
    )
    nested = (
        "urn:pulumi:prod::strata::strata:metadata:Metadata$strata:metadata:Ui$aws:lb/loadBalancer:LoadBalancer::metadata-ui-alb"
    )
    assert d.layer_of(nested) == "metadata"
    assert d.layer_of("urn:pulumi:prod::strata::random:index/randomPassword:RandomPassword::x") == "other"


def test_a_resource_belongs_to_a_team_by_its_tag_or_its_namespace():
    namespaces = {"research-lab": "research", "fraud": "fraud"}
    teams = ["fraud", "research"]
    assert d.owner_of({"tags": {"team": "fraud"}}, teams, namespaces) == "fraud"
    assert d.owner_of({"tags": {"team": "platform"}}, teams, namespaces) is None, "a tag that names no team"
    assert d.owner_of({"metadata": {"namespace": "research-lab"}}, teams, namespaces) == "research"
    assert d.owner_of({"kind": "Namespace", "metadata": {"name": "research-lab"}}, teams, namespaces) == "research"
    assert d.owner_of({"namespace": "seldon-system"}, teams, namespaces) is None


def test_long_label_lines_break_at_separators():
    assert d.wrap("/strata/prod/teams/forecasting/metaflow-profile", 24) == "/strata/prod/teams/\nforecasting/metaflow-\nprofile"
    assert d.wrap("short\nlines stay", 24) == "short\nlines stay"
    assert all(len(line) <= 10 for line in d.wrap("abcdefghijklmnopqrstuvwxyz", 10).split("\n"))


# ---------------------------------------------------------------- what prod draws


def test_prod_draws_each_layer_it_turns_on_with_counts_from_the_declared_resources(prod):
    s = prod.platform.settings
    assert s.kubernetes.enabled and s.serving.enabled and s.warehouse.enabled and s.metadata.enabled, "prod turns every layer on"
    for layer in (
        "network",
        "datastore",
        "compute",
        "orchestration",
        "kubernetes",
        "metadata",
        "warehouse",
        "serving",
        "observability",
    ):
        group = prod.group(f"layer_{layer}")
        assert f'"cluster_{group.label}"' in prod.source, f"no cluster for the {layer} layer"
        assert group.boxes, f"the {layer} layer has no box"
    compute = {b.id: b.label for b in prod.group("layer_compute").boxes}
    queues = prod.count("aws:batch/jobQueue:JobQueue")
    assert compute["compute_queues"] == f"{queues} job queues"
    envs = prod.count("aws:batch/computeEnvironment:ComputeEnvironment")
    assert compute["compute_envs"].startswith(f"{envs} compute environments")
    alarms = {b.id: b.label for b in prod.group("layer_observability").boxes}["observability_alarms"]
    assert alarms == f"{prod.count('aws:cloudwatch/metricAlarm:MetricAlarm')} alarms"
    labels = "\n".join(b.label for b in prod.picture.boxes())
    assert "argo-workflows" in labels and "argo-events" in labels and "seldon-core-v2" in labels
    assert f"EKS {prod.run.outputs['eksClusterName']}" in labels
    assert "Redshift Serverless" in labels and "aurora-postgresql" in labels


def test_prod_draws_one_cluster_per_team_with_its_own_resources(prod):
    teams = sorted(t.name for t in prod.platform.teams)
    assert teams, "prod has teams"
    drawn = sorted(g.id.removeprefix("team_") for g in prod.group("teams").groups)
    assert drawn == teams
    for team in teams:
        group = prod.group(f"team_{team}")
        assert f'"cluster_{group.label}"' in prod.source
        labels = {b.id.removeprefix(f"team_{team}_"): b.label for b in group.boxes}
        parameter = prod.run.outputs["teamProfileParameters"][team]
        assert labels["profile"].replace("\n", "").endswith(parameter), "the team's profile parameter in SSM"
        queues = [
            r for r in prod.run.custom_resources() if r.type == "aws:batch/jobQueue:JobQueue" and r.inputs["tags"]["team"] == team
        ]
        assert labels["queues"].startswith(f"{len(queues)} Batch job queue")
        assert prod.run.outputs["teamStateMachinePrefixes"][team] in labels["sfn"].replace("\n", "")
        namespace = prod.run.outputs["teamNamespaces"][team]
        assert labels[f"ns_{namespace}"].startswith(f"namespace {namespace}")
        assert any(key.startswith("server_") for key in labels), "the team's MLServer"
        other = [t for t in teams if t != team]
        assert not any(f"teams/{o}/" in label for o in other for label in labels.values()), "another team's resource"


def test_prod_draws_the_data_scientists_path_in_order(prod):
    edges = prod.edges()
    labels = [label for _, _, label in edges if label]
    assert labels == [command for _, command in d.PATH_STEPS], "each step once, in order"
    for team in sorted(t.name for t in prod.platform.teams):
        namespace = prod.run.outputs["teamNamespaces"][team]
        chain = [
            "laptop",
            f"team_{team}_profile",
            "datastore_bucket",
            f"team_{team}_queues",
            f"team_{team}_sfn",
            f"team_{team}_ns_{namespace}",
        ]
        pairs = {(tail, head) for tail, head, _ in edges}
        for tail, head in zip(chain, chain[1:], strict=False):
            assert (tail, head) in pairs, f"no path edge {tail} -> {head}"
        assert any(tail == chain[-1] and head.startswith(f"team_{team}_server_") for tail, head in pairs), "Argo -> served model"
    assert all("constraint=false" in attrs for _, _, attrs in EDGE.findall(prod.source) if "style=invis" not in attrs)


def test_the_drawing_is_the_same_every_time(prod):
    again = d.architecture("prod", d.declared(prod.run), prod.run.outputs)
    assert d.dot_source(again) == prod.source


# ---------------------------------------------------------------- a stack that turns layers off


def test_dev_draws_no_kubernetes_argo_or_seldon(dev):
    assert not dev.platform.settings.kubernetes.enabled, "dev runs without the Kubernetes layer"
    ids = {g.id for g in dev.picture.groups()}
    assert "layer_kubernetes" not in ids and "layer_serving" not in ids
    assert "layer_compute" in ids and "layer_orchestration" in ids
    text = dev.source.lower()
    for absent in ("eks", "argo", "seldon", "mlserver", "namespace", "k8s"):
        assert absent not in text, f"dev's drawing shows {absent!r}"
    labels = [label for _, _, label in dev.edges() if label]
    assert labels == ["1 strata configure", "2 python flow.py run", "3 run --with batch", "4 step-functions create"]
    assert sorted(g.id.removeprefix("team_") for g in dev.group("teams").groups) == sorted(t.name for t in dev.platform.teams)


# ---------------------------------------------------------------- the command


def strata(*args: str):
    from strata.cli import app

    return CliRunner().invoke(app, list(args))


def assert_clean_exit(result, code: int) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_without_graphviz_the_command_says_what_to_install_and_exits_2(tmp_path, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "dot" else real_which(name, *a, **k))
    out = tmp_path / "arch.svg"
    result = strata("diagram", "--stack", "prod", "-o", str(out), "--project-dir", str(REPO))
    assert_clean_exit(result, 2)
    assert "sudo apt-get install graphviz" in result.output and "brew install graphviz" in result.output
    assert "https://graphviz.org/download/" in result.output
    assert not out.exists()


def test_graphviz_failing_while_drawing_is_the_same_clean_error_and_leaves_no_file(prod, tmp_path, monkeypatch):
    import graphviz
    from diagrams import Diagram

    def missing(self):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: "/usr/bin/dot")
    monkeypatch.setattr(Diagram, "render", missing)
    with pytest.raises(d.DiagramError, match="apt-get install graphviz"):
        d.render(prod.picture, tmp_path / "arch.svg")
    assert list(tmp_path.iterdir()) == [], "a failed drawing leaves nothing behind"


@pytest.mark.parametrize("name", ["arch.pdf", "arch", "arch.svg.txt"])
def test_a_bad_suffix_exits_2_naming_the_file_and_the_formats(tmp_path, name):
    out = tmp_path / name
    result = strata("diagram", "--stack", "prod", "-o", str(out), "--project-dir", str(REPO))
    assert_clean_exit(result, 2)
    assert name in result.output and ".png or .svg" in result.output
    assert not out.exists()


def test_an_unknown_stack_exits_1_naming_the_stack_file(tmp_path):
    result = strata("diagram", "--stack", "nope", "-o", str(tmp_path / "a.svg"), "--project-dir", str(REPO))
    assert_clean_exit(result, 1)
    assert "stacks/Pulumi.nope.yaml" in result.output and "fix:" in result.output


def svg_texts(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {t.text.strip() for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and t.text.strip()}


def assert_portable(svg: str) -> None:
    refs = re.findall(r'xlink:href="([^"]*)"', svg)
    assert refs and all(ref.startswith(("#", "data:image/png;base64,")) for ref in refs), "an icon by file path"
    assert "site-packages" not in svg


@needs_dot
def test_the_command_draws_svg_and_png_that_show_what_the_picture_holds(prod, tmp_path):
    svg = tmp_path / "docs" / "arch.svg"
    result = strata("diagram", "--stack", "prod", "-o", str(svg), "--project-dir", str(REPO))
    assert_clean_exit(result, 0)
    text = svg.read_text()
    assert svg_texts(text) == prod.picture.texts(), "the SVG shows exactly the picture's text"
    assert_portable(text)
    assert [p.name for p in svg.parent.iterdir()] == ["arch.svg"], "no temporary file left"
    png = tmp_path / "arch.png"
    d.render(prod.picture, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_committed_docs_diagram_is_what_the_command_draws_now(prod):
    assert COMMITTED.exists(), f"{COMMITTED.relative_to(REPO)} is missing: run `{REGENERATE}`"
    svg = COMMITTED.read_text()
    shown, now = svg_texts(svg), prod.picture.texts()
    assert shown == now, (
        f"{COMMITTED.relative_to(REPO)} is stale: run `{REGENERATE}` and commit it. "
        f"Only in the file: {sorted(shown - now)}; only in the program now: {sorted(now - shown)}"
    )
    assert_portable(svg)
    assert len(svg.encode()) < 2_000_000, "the committed SVG stays small"
