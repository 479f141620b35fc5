"""Pure and offline parts of `strata doctor` (sdk/strata/doctor.py): profile resolution and exit codes, the output
lines, how the runner skips and turns errors into fixes, the PassRole evaluator (cross-checked with tools.guards on the
deployed data-scientist policy), the metadata check against a small HTTP server, and the kubeconfig context check.
Against the local cloud: tests/e2e/test_doctor.py."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from botocore.exceptions import EndpointConnectionError
from typer.testing import CliRunner

from core import naming
from modules.orchestration import policies as orchestration
from modules.team import policies as team_policies
from strata import doctor, kubeconfig, profiles
from strata.cli import app
from strata.doctor import FAIL, PASS, SKIP, Check, Doctor, Result, failed, passed
from tools.guards import policy_decision

ENV, ACCOUNT, REGION = "dev", "111111111111", "us-east-1"


def offline(name: str = "dev-fraud", environ: dict | None = None, **kwargs) -> Doctor:
    env, _, team = name.partition("-")
    session = SimpleNamespace(region_name=kwargs.pop("region", REGION))
    return Doctor(name, env, team, environ=environ if environ is not None else {}, session=session, **kwargs)


# ---------------------------------------------------------------- resolution, exit codes, lines


def test_the_profile_is_the_flag_then_env_and_team_then_metaflow_profile():
    assert doctor.resolve_profile("dev-fraud", None, None, {}) == ("dev-fraud", None, None)
    assert doctor.resolve_profile(None, "dev", "fraud", {"METAFLOW_PROFILE": "x-y"}) == ("dev-fraud", "dev", "fraud")
    assert doctor.resolve_profile(None, None, None, {"METAFLOW_PROFILE": "prod-fraud"}) == ("prod-fraud", None, None)
    for args in [(None, "dev", None), (None, None, "fraud"), ("prod-fraud", "dev", "fraud"), (None, None, None)]:
        with pytest.raises(doctor.UsageError):
            doctor.resolve_profile(*args, environ={})


@pytest.mark.parametrize("args", [["--env", "dev"], ["--team", "fraud"], [], ["-p", "a-b", "-e", "dev", "-t", "fraud"]])
def test_usage_errors_exit_2_without_a_traceback(args, monkeypatch):
    monkeypatch.delenv("METAFLOW_PROFILE", raising=False)
    result = CliRunner().invoke(app, ["doctor", *args])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "Traceback" not in result.output


def test_one_line_per_result_with_the_fix_only_on_failures():
    assert Result("datastore", PASS, "wrote s3://b/k").line() == "PASS datastore: wrote s3://b/k"
    assert Result("x", SKIP, "no layer").line() == "SKIP x: no layer"
    assert Result("x", PASS, "ok", "unused").line() == "PASS x: ok"
    assert Result("x", FAIL, "two\nlines", "run\n  this").line() == "FAIL x: two lines — fix: run this"
    xml = '403: <?xml version="1.0"?>\n<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: a is not authorized</Message></Error></ErrorResponse>'
    assert Result("x", FAIL, f"AWS refused GetParameter: {xml}", "f").line() == (
        "FAIL x: AWS refused GetParameter: 403: User: a is not authorized — fix: f"
    )


def test_the_cli_exits_1_on_a_failure_and_prints_every_check(monkeypatch, tmp_path):
    checks = [Check("one", lambda d: passed("fine")), Check("two", lambda d: failed("broken", "mend it"))]
    monkeypatch.setattr(doctor, "diagnose", lambda name, env, team: doctor.run(offline(name, home=tmp_path), checks))
    result = CliRunner().invoke(app, ["doctor", "--env", "dev", "--team", "fraud"])
    assert result.exit_code == 1
    assert "PASS one: fine" in result.output and "FAIL two: broken — fix: mend it" in result.output
    assert "1 passed, 1 failed, 0 skipped" in result.output


# ---------------------------------------------------------------- the runner


def unreachable(doc: Doctor) -> doctor.Verdict:
    raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")


RUNNER_CHECKS = [
    Check("a", lambda d: passed("x")),
    Check("b", unreachable, aws=True),
    Check("c", lambda d: passed("never runs"), aws=True),
    Check("d", lambda d: failed("bad", "fix d"), ("a",)),
    Check("e", lambda d: passed("never runs"), ("d",)),
    Check("f", lambda d: 1 / 0),
    Check("g", lambda d: doctor.skipped("not here"), ("a",)),
    Check("h", lambda d: passed("never runs"), ("g",)),
]


def test_the_runner_skips_after_a_failed_prerequisite_or_unreachable_aws_and_never_raises(tmp_path):
    results = {r.name: r for r in doctor.run(offline("local-fraud", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}), RUNNER_CHECKS)}
    assert [r.status for r in results.values()] == [PASS, FAIL, SKIP, FAIL, SKIP, FAIL, SKIP, SKIP]
    assert "cannot reach AWS at http://127.0.0.1:9" in results["b"].detail and "`strata local up`" in results["b"].fix
    assert results["c"].detail == "AWS unreachable (see b)"
    assert results["e"].detail == "d failed"
    assert results["f"].detail.startswith("the check itself failed: ZeroDivisionError")
    assert results["h"].detail == "g skipped: not here"


def test_a_wrong_aws_profile_fails_one_check_and_skips_the_aws_ones(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    doc = Doctor("dev-fraud", "dev", "fraud", environ={}, home=tmp_path)  # the session is made inside a check
    (tmp_path / "config_dev-fraud.json").write_text(json.dumps({"METAFLOW_STRATA_TEAM": "fraud"}))
    checks = [c for c in doctor.CHECKS if c.name in ("profile", "aws-config", "caller-role")]
    results = {r.name: r for r in doctor.run(doc, checks)}
    assert results["aws-config"].status == FAIL and "no-such-profile" in results["aws-config"].detail
    assert "aws configure list-profiles" in results["aws-config"].fix
    assert results["caller-role"].status == SKIP


def test_an_unreachable_aws_environment_points_at_the_network_not_the_local_cloud():
    (result,) = doctor.run(offline("dev-fraud"), [Check("b", unreachable, aws=True)])
    assert result.status == FAIL and "VPN" in result.fix and "local up" not in result.fix


# ---------------------------------------------------------------- shell checks


def test_a_profile_holding_the_api_key_must_be_the_owners_only(tmp_path):
    path = tmp_path / "config_dev-fraud.json"
    path.write_text(json.dumps({profiles.AUTH_KEY: "s3cr3t-value", "METAFLOW_STRATA_TEAM": "fraud"}))
    path.chmod(0o644)
    verdict = doctor.check_profile(offline(home=tmp_path))
    assert verdict.status == FAIL and f"chmod 600 {path}" in verdict.fix and "s3cr3t" not in verdict.detail + verdict.fix
    path.chmod(0o600)
    assert doctor.check_profile(offline(home=tmp_path)).status == PASS


def test_env_and_team_come_from_the_profiles_team_when_the_env_has_a_dash(tmp_path):
    (tmp_path / "config_us-dev-fraud.json").write_text(json.dumps({"METAFLOW_STRATA_TEAM": "fraud"}))
    doc = Doctor("us-dev-fraud", environ={}, session=SimpleNamespace(region_name=REGION), home=tmp_path)
    assert doctor.check_profile(doc).status == PASS and (doc.env, doc.team) == ("us-dev", "fraud")


def test_the_endpoint_must_match_the_kind_of_profile():
    local = doctor.check_aws_config(offline("dev-fraud", {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}))
    assert local.status == FAIL and "unset AWS_ENDPOINT_URL" in local.fix
    missing = doctor.check_aws_config(offline("local-fraud", {}))
    assert missing.status == FAIL and f"source {profiles.LOCAL_ENV_FILE}" in missing.fix
    doc = offline("dev-fraud", region=None)
    doc.profile = {kubeconfig.REGION_KEY: "eu-west-1"}
    no_region = doctor.check_aws_config(doc)
    assert no_region.status == FAIL and no_region.fix == "export AWS_DEFAULT_REGION=eu-west-1"
    assert doctor.check_aws_config(offline("dev-fraud")).status == PASS


# ---------------------------------------------------------------- PassRole, evaluated on the deployed policy


def arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def deployed_policy(team: str) -> dict:
    prefix = naming.state_machine_prefix(ENV, team)
    extra = orchestration.data_scientist_statements(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        team=team,
        name_prefix=prefix + naming.STATE_MACHINE_SEPARATOR,
        step_functions_role_arn=arn(naming.step_functions_role(ENV, team)),
        eventbridge_role_arn=arn(naming.eventbridge_role(ENV, team)),
    )
    return team_policies.data_scientist_policy(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        bucket_arn="arn:aws:s3:::acme-dev-datastore",
        team_prefix=naming.team_prefix(team),
        kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234",
        job_queue_arns=[f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{naming.job_queue(ENV, team, 'cpu')}"],
        job_definition_prefix=naming.job_definition_prefix(ENV, team),
        job_log_group=naming.job_log_group(ENV, team),
        job_log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{naming.job_log_group(ENV, team)}",
        job_role_arn=arn(naming.job_role(ENV, team)),
        profile_parameter_arn=f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{naming.profile_parameter(ENV, team)}",
        extra_statements=extra,
    )


def test_the_pass_role_evaluator_agrees_with_the_guards_on_the_deployed_policy():
    documents = [deployed_policy("fraud")]
    roles = [
        arn(f(ENV, t))
        for t in ("fraud", "research")
        for f in (naming.job_role, naming.step_functions_role, naming.eventbridge_role)
    ]
    services = sorted({service for _, service in doctor.PASSED_ROLES} | {"ecs-tasks.amazonaws.com", "lambda.amazonaws.com"})
    decisions = {}
    for role in roles:
        for service in services:
            context = {"iam:PassedToService": service}
            decisions[role, service] = doctor.decide(documents, "iam:PassRole", role, context)
            assert decisions[role, service] == policy_decision(documents, "iam:PassRole", role, context), (role, service)
    allowed = {pair for pair, d in decisions.items() if d == "allow"}
    assert allowed == {
        (arn(naming.job_role(ENV, "fraud")), "batch.amazonaws.com"),
        (arn(naming.job_role(ENV, "fraud")), "ecs-tasks.amazonaws.com"),
        (arn(naming.step_functions_role(ENV, "fraud")), orchestration.STATES_SERVICE),
        (arn(naming.eventbridge_role(ENV, "fraud")), orchestration.EVENTS_SERVICE),
    }


def test_the_evaluator_says_unknown_rather_than_guess():
    unknown = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"ArnLike": {"aws:SourceArn": "x"}}}
    deny = {"Effect": "Deny", "NotAction": "s3:*", "NotResource": "arn:aws:iam::*:role/safe-*"}
    allow = {"Effect": "Allow", "Action": "IAM:Pass*", "Resource": "arn:aws:iam::*:role/r?"}
    assert doctor.decide([{"Statement": unknown}], "iam:PassRole", arn("r1"), {}) == "unknown"
    assert doctor.decide([{"Statement": [allow]}], "iam:PassRole", arn("r1"), {}) == "allow"
    assert doctor.decide([{"Statement": [allow]}], "iam:PassRole", arn("r10"), {}) == "implicit-deny"
    assert doctor.decide([{"Statement": [allow, deny]}], "iam:PassRole", arn("r1"), {}) == "deny"
    assert doctor.decide([{"Statement": [allow, unknown]}], "iam:PassRole", arn("r1"), {}) == "allow"


def test_the_sdk_mirrors_the_platforms_names_and_services():
    assert doctor.data_scientist_role("dev", "fraud") == naming.data_scientist_role("dev", "fraud")
    services = {service for _, service in doctor.PASSED_ROLES}
    assert services == {*team_policies.PASS_ROLE_SERVICES, orchestration.STATES_SERVICE, orchestration.EVENTS_SERVICE} - {
        "ecs-tasks.amazonaws.com"
    }


# ---------------------------------------------------------------- metadata service


KEY = "team-key"


class Service(BaseHTTPRequestHandler):
    open_to_all = False

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        ok = self.path == "/ping" and (self.open_to_all or self.headers.get("x-api-key") == KEY)
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.wfile.write(b"pong" if ok else b"")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    Service.open_to_all = False


def metadata_doc(url: str, key: str | None) -> Doctor:
    doc = offline()
    doc.profile = {
        "METAFLOW_DEFAULT_METADATA": "service",
        "METAFLOW_SERVICE_URL": url,
        **({profiles.AUTH_KEY: key} if key else {}),
    }
    return doc


def test_the_metadata_service_answers_with_the_teams_key_and_refuses_without(service):
    verdict = doctor.check_metadata(metadata_doc(service, KEY))
    assert verdict.status == PASS and "HTTP 200 with the team's key, HTTP 403 without it" in verdict.detail
    wrong = doctor.check_metadata(metadata_doc(service, "old-key"))
    assert wrong.status == FAIL and "HTTP 403" in wrong.detail and "strata configure --env dev --team fraud --force" in wrong.fix
    assert "old-key" not in wrong.detail + wrong.fix, "the key is a secret"
    Service.open_to_all = True
    assert doctor.check_metadata(metadata_doc(service, KEY)).status == FAIL


def test_an_unreachable_or_keyless_metadata_service_fails_with_its_fix(service):
    missing = doctor.check_metadata(metadata_doc(service, None))
    assert missing.status == FAIL and profiles.AUTH_KEY in missing.detail
    closed = doctor.check_metadata(metadata_doc("http://127.0.0.1:9", KEY))
    assert closed.status == FAIL and "VPN" in closed.fix
    local = offline()
    local.profile = {"METAFLOW_DEFAULT_METADATA": "local"}
    assert doctor.check_metadata(local).status == SKIP


# ---------------------------------------------------------------- kubeconfig context


K8S_PROFILE = {
    kubeconfig.CLUSTER_KEY: "strata-dev",
    kubeconfig.REGION_KEY: REGION,
    kubeconfig.NAMESPACE_KEY: "fraud",
    kubeconfig.ENDPOINT_KEY: "https://example.eks.amazonaws.com",
    kubeconfig.CA_KEY: "Y2E=",
}


def test_the_kube_context_must_exist_name_the_namespace_and_be_current(tmp_path):
    path = tmp_path / "kubeconfig"
    doc = offline(environ={"KUBECONFIG": str(path)})
    doc.profile = dict(K8S_PROFILE)
    missing = doctor.check_kube_context(doc)
    assert missing.status == FAIL and "strata configure --env dev --team fraud" in missing.fix
    kubeconfig.install(K8S_PROFILE, "dev", "fraud", path=path, environ={})
    assert doctor.check_kube_context(doc).status == PASS
    config = kubeconfig.read_config(path)
    path.write_text(json.dumps({**config, "current-context": "elsewhere"}))
    other = doctor.check_kube_context(doc)
    assert other.status == FAIL and other.fix == "`kubectl config use-context strata-dev-fraud`"
    doc.profile = {}
    assert doctor.check_kube_context(doc).status == SKIP
