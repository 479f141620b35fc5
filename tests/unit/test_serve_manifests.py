"""`strata serve`'s pure rules: names, versions, weights, and the rendered Seldon objects (validated against the
Seldon v2.6.0 CRDs, tests/unit/seldon_crds.py)."""

from __future__ import annotations

import pytest
from seldon_crds import crd_errors, crd_path

from strata.serve.manifests import (
    ServeProblem,
    Target,
    check_weights,
    experiment_versions,
    manifest_file,
    model_settings,
    name_problem,
    next_version,
    parse_model_name,
    render_experiment,
    render_model,
    split,
    storage_uri,
    weight_problem,
)

TARGET = Target(team="fraud", bucket="strata-dev-datastore", namespace="team-fraud")


@pytest.mark.parametrize("name", ["iris", "fraud-scorer", "m1", "a" * 60])
def test_valid_names(name):
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["Iris", "iris_model", "-iris", "iris-", "", "iris.v1", "a" * 64, "ïris"])
def test_invalid_names_are_refused_with_the_rule(name):
    problem = name_problem(name)
    assert problem and ("lower-case letters" in problem or "too long" in problem), problem


def test_the_versioned_name_must_fit_63_characters():
    assert name_problem("a" * 60, 9) is None  # a...-v9: 63
    problem = name_problem("a" * 60, 10)  # a...-v10: 64
    assert problem and "too long" in problem and "at most 59 characters" in problem
    with pytest.raises(ServeProblem):
        render_model(TARGET, "a" * 60, 10)


def test_next_version_is_one_more_than_the_highest():
    assert next_version([]) == 1
    assert next_version([1]) == 2
    assert next_version([3, 1]) == 4


@pytest.mark.parametrize("weight", [1, 20, 50, 99])
def test_split_gives_the_candidate_its_weight_and_sums_to_100(weight):
    keep, give = split(weight)
    assert (keep, give) == (100 - weight, weight) and keep + give == 100


@pytest.mark.parametrize("weight", [0, 100, -5, 150, True, 20.5, "20"])
def test_weights_out_of_range_or_not_integers_are_refused(weight):
    assert weight_problem(weight)
    with pytest.raises(ServeProblem):
        split(weight)


def test_check_weights_refuses_a_wrong_sum_and_wrong_values():
    check_weights([{"name": "a", "weight": 80}, {"name": "b", "weight": 20}])
    for wrong in (
        [{"name": "a", "weight": 80}, {"name": "b", "weight": 30}],
        [{"name": "a", "weight": 100}, {"name": "b", "weight": 0}],
        [{"name": "a", "weight": "80"}, {"name": "b", "weight": 20}],
        [{"name": "a", "weight": 100}],
    ):
        with pytest.raises(ServeProblem):
            check_weights(wrong)


def test_the_model_renders_the_contract_and_validates_against_the_crd():
    model = render_model(TARGET, "iris", 3)
    assert model["apiVersion"] == "mlops.seldon.io/v1alpha1" and model["kind"] == "Model"
    assert model["metadata"]["name"] == "iris-v3" and model["metadata"]["namespace"] == "team-fraud"
    assert model["metadata"]["labels"]["strata.io/team"] == "fraud"
    assert model["spec"] == {
        "storageUri": "s3://strata-dev-datastore/teams/fraud/models/iris/3",
        "secretName": "strata-s3-storage",
        "requirements": ["sklearn"],
        "server": "mlserver",
    }
    assert crd_errors("models", model) == []
    assert manifest_file(model) == "model-iris-v3.yaml"


def test_the_experiment_splits_current_and_candidate_and_validates_against_the_crd():
    experiment = render_experiment(TARGET, "iris", 1, 2, 20)
    assert experiment["kind"] == "Experiment" and experiment["metadata"]["name"] == "iris"
    assert experiment["spec"] == {
        "default": "iris-v1",
        "candidates": [{"name": "iris-v1", "weight": 80}, {"name": "iris-v2", "weight": 20}],
    }
    assert crd_errors("experiments", experiment) == []
    assert experiment_versions("iris", experiment) == (1, 2, {1: 80, 2: 20})


def test_the_crds_catch_types_but_not_the_sum_of_weights():
    """Why check_weights exists: the Experiment CRD accepts weights summing to 110."""
    assert crd_path("models").exists() and crd_path("experiments").exists()
    wrong_sum = render_experiment(TARGET, "iris", 1, 2, 20)
    wrong_sum["spec"]["candidates"][0]["weight"] = 90
    assert crd_errors("experiments", wrong_sum) == []
    with pytest.raises(ServeProblem, match="sum to 100"):
        experiment_versions("iris", wrong_sum)
    as_string = render_experiment(TARGET, "iris", 1, 2, 20)
    as_string["spec"]["candidates"][0]["weight"] = "80"
    assert crd_errors("experiments", as_string)
    no_uri = render_model(TARGET, "iris", 1)
    del no_uri["spec"]["storageUri"]
    assert any("storageUri" in e for e in crd_errors("models", no_uri))


def test_model_settings_are_mlservers_sklearn_runtime_on_the_local_artifact():
    assert model_settings("iris", 2) == {
        "name": "iris-v2",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v2"},
    }


def test_names_and_versions_round_trip():
    assert parse_model_name("iris", "iris-v12") == 12
    assert parse_model_name("iris", "iris-v0") is None
    assert parse_model_name("iris", "iris2-v1") is None
    assert parse_model_name("iris", "iris-v1-v2") is None
    assert storage_uri("b", "fraud", "iris", 1) == "s3://b/teams/fraud/models/iris/1"
