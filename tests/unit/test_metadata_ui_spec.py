"""Pure logic of the Metaflow UI (modules/metadata/ui_spec.py), without mocks."""

from __future__ import annotations

import pytest

from modules.metadata import ui_spec
from modules.metadata.settings import MetadataSettings, MetadataUi

BUCKET_ARN = "arn:aws:s3:::acme-dev-datastore"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/k"
COGNITO = MetadataUi.model_validate(
    {
        "enabled": True,
        "auth": "cognito",
        "cognitoUserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Ab1",
        "cognitoClientId": "c",
        "cognitoDomain": "acme",
        "sessionTimeoutSeconds": 3600,
    }
)
OIDC = MetadataUi.model_validate(
    {
        "enabled": True,
        "auth": "oidc",
        "oidcIssuer": "https://idp",
        "oidcAuthorizationEndpoint": "https://idp/a",
        "oidcTokenEndpoint": "https://idp/t",
        "oidcUserInfoEndpoint": "https://idp/u",
        "oidcClientId": "id",
    }
)


def test_login_action_cognito_authenticates_unauthenticated_requests():
    action = ui_spec.login_action(COGNITO)
    assert action["type"] == "authenticate-cognito" and action["order"] == 1
    cfg = action["authenticate_cognito"]
    assert cfg["on_unauthenticated_request"] == "authenticate"
    assert cfg["session_timeout"] == 3600
    assert cfg["user_pool_domain"] == "acme"


def test_login_action_oidc_needs_the_client_secret():
    with pytest.raises(ValueError, match="client secret"):
        ui_spec.login_action(OIDC)
    action = ui_spec.login_action(OIDC, "s3cret")
    assert action["authenticate_oidc"]["client_secret"] == "s3cret"
    assert action["authenticate_oidc"]["token_endpoint"] == "https://idp/t"


def test_no_login_is_refused():
    with pytest.raises(ValueError, match="never served without a login"):
        ui_spec.login_action(MetadataUi.model_validate({"enabled": True}))


def test_backend_policy_is_read_only_on_team_roots():
    policy = ui_spec.backend_task_policy(BUCKET_ARN, KEY_ARN, "us-east-1")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadTeamMetaflowRoots"] == {
        "Sid": "ReadTeamMetaflowRoots",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": f"{BUCKET_ARN}/teams/*",
    }
    assert by_sid["ListTeamMetaflowRoots"]["Condition"] == {"StringLike": {"s3:prefix": ["teams/*"]}}
    assert by_sid["DecryptThroughS3"]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert all(
        s["Effect"] == "Allow" and "Put" not in str(s["Action"]) and "Delete" not in str(s["Action"]) for s in policy["Statement"]
    )


@pytest.mark.parametrize("bad", ["*", "arn:aws:s3:::*", "bucket"])
def test_backend_policy_refuses_wildcards(bad):
    with pytest.raises(ValueError, match="concrete ARN"):
        ui_spec.backend_task_policy(bad, KEY_ARN, "us-east-1")


def test_backend_environment_serves_under_api_and_has_no_secret():
    env = ui_spec.backend_environment(MetadataSettings(), "db.example", "acme-dev-datastore")
    assert env["PATH_PREFIX"] == "/api/"
    assert env["MF_UI_METADATA_PORT"] == "8083"
    assert env["MF_METADATA_DB_HOST"] == "db.example"
    assert env["MF_DATASTORE_ROOT"] == "s3://acme-dev-datastore/teams"
    assert "MF_METADATA_PORT" not in env and "MF_METADATA_DB_PSWD" not in env


def test_urls():
    assert ui_spec.ui_url("m.example.com") == "https://m.example.com/"
    assert ui_spec.callback_url("m.example.com") == "https://m.example.com/oauth2/idpresponse"
