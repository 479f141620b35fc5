"""Pure logic of the Metaflow UI (modules/metadata/ui_spec.py), without mocks."""

from __future__ import annotations

import pytest

from modules.metadata import ui_spec
from modules.metadata.settings import MetadataSettings, MetadataUi

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


def test_backend_environment_serves_under_api_and_has_no_secret():
    env = ui_spec.backend_environment(MetadataSettings(), "db.example")
    assert env["PATH_PREFIX"] == "/api/"
    assert env["MF_UI_METADATA_PORT"] == "8083"
    assert env["MF_METADATA_DB_HOST"] == "db.example"
    assert "MF_METADATA_PORT" not in env and "MF_METADATA_DB_PSWD" not in env


def test_backend_reads_no_datastore_and_unpickles_nothing():
    """Every backend feature that reads the datastore is off (services/ui_backend_service/features.py treats
    "0"/"false"/"f" as off and anything else as on), the app hides what would only fail, and no datastore is named."""
    env = ui_spec.backend_environment(MetadataSettings(), "db.example")
    for flag in ("FEATURE_CACHE_DISABLE", "FEATURE_S3_DISABLE", "FEATURE_PREFETCH_DISABLE", "FEATURE_REFINE_DISABLE"):
        assert env[flag].lower() not in ("0", "false", "f"), f"{flag}={env[flag]} leaves the feature on"
    for flag in ("FEATURE_ARTIFACT_SEARCH", "FEATURE_ARTIFACT_TABLE", "FEATURE_CARDS", "FEATURE_DAG"):
        assert env[flag] == "0", f"{flag}={env[flag]}: the app would offer it"
    assert env["MF_LOG_LOAD_POLICY"] == "blurb_only"
    named = {k: v for k, v in env.items() if "s3://" in v or "DATASTORE" in k}
    assert not named, f"the backend is told of a datastore: {named}"


def test_urls():
    assert ui_spec.ui_url("m.example.com") == "https://m.example.com/"
    assert ui_spec.callback_url("m.example.com") == "https://m.example.com/oauth2/idpresponse"
