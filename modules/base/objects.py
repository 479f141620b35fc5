"""Kubernetes objects (the layers' ``manifests.py`` plain dicts) as Pulumi resources: a typed resource for every
built-in kind, a ``CustomResource`` for the custom kinds the platform declares (Argo Events', Seldon's), never an
opaque chart or ConfigGroup. Shared by the Kubernetes and serving layers (modules/kubernetes, modules/serving):
it knows neither, only the Kubernetes API's kinds."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# The typed class of every built-in kind the layers declare; the custom kinds (_CUSTOM) are CustomResources.
_TYPED: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): k8s.admissionregistration.v1.ValidatingAdmissionPolicy,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): (
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding
    ),
}
_CUSTOM = {("argoproj.io/v1alpha1", kind) for kind in ("EventBus", "EventSource", "Sensor")} | {
    ("mlops.seldon.io/v1alpha1", kind) for kind in ("Server", "Model", "Experiment")
}


def declare_object(resource_name: str, obj: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """``obj`` (a full Kubernetes object) as its typed resource, or a ``CustomResource`` for a custom kind.
    Top-level fields become the class's arguments (``roleRef`` -> ``role_ref``); nested ones keep the API's names."""
    key = (obj["apiVersion"], obj["kind"])
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if key in _CUSTOM:
        extra = sorted(set(body) - {"metadata", "spec"})
        if extra:
            raise ValueError(f"{resource_name}: a {key[1]} takes metadata and spec only, not {extra}")
        return k8s.apiextensions.CustomResource(
            resource_name, api_version=key[0], kind=key[1], metadata=body.get("metadata"), spec=body.get("spec"), opts=opts
        )
    cls = _TYPED.get(key)
    if cls is None:
        raise ValueError(f"{resource_name}: no typed resource for {key[0]} {key[1]}; add it to _TYPED")
    return cls(resource_name, opts=opts, **{_snake(k): v for k, v in body.items()})


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
