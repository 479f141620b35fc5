"""Kubernetes in the local cloud: there is no API server here. Every Kubernetes object and Helm release the
program declares is recorded by the engine (its inputs are its state) and validated, never applied: built-in
kinds strictly with kubernetes-validate, custom resources by apiVersion, kind and name (their CRDs' schemas are
the manifests gate's), releases by chart, repository, pinned version and values."""

from __future__ import annotations

import hashlib
from typing import Any

# pulumi-kubernetes: there is no Kubernetes API server in the local cloud. Every Kubernetes object and Helm
# release the program declares is recorded (its inputs are its state) and validated, never applied; the CLI
# says so with the counts (LocalEngine.kubernetes_summary).
KUBERNETES_NOT_APPLIED = "no Kubernetes API server in the local cloud"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
# Components that hand the engine one opaque resource instead of their objects (remote components), or
# render through the helm binary (helm.v3.Chart's kubernetes:helm:template invoke): nothing in them can be
# recorded or validated, so the engine refuses them and names what to declare instead.
OPAQUE_KUBERNETES = {
    "kubernetes:helm.sh/v4:Chart": "use kubernetes.helm.v3.Release (its chart, version and values are recorded)",
    "kubernetes:helm.sh/v3:Chart": "use kubernetes.helm.v3.Release (helm.v3.Chart renders with the helm binary)",
    "kubernetes:yaml/v2:ConfigGroup": "declare each object as a typed resource or a CustomResource",
    "kubernetes:yaml/v2:ConfigFile": "declare each object as a typed resource or a CustomResource",
    "kubernetes:kustomize/v2:Directory": "declare each object as a typed resource or a CustomResource",
}
# The API groups Kubernetes serves itself: an object of one of them that kubernetes-validate has no schema
# for names a kind or version the cluster does not have. Any other group is a custom resource (a CRD's).
_BUILT_IN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
    }
)
# Built-in kinds that live outside namespaces (pulumi-kubernetes ids them by name alone).
_CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "PriorityClass",
        "RuntimeClass",
        "IngressClass",
        "APIService",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "CertificateSigningRequest",
    }
)


def _auto_name(logical: str) -> str:
    """pulumi-kubernetes names an object without ``metadata.name`` ``<logical>-<8 characters>`` (random there;
    a hash of the logical name here, so reruns agree)."""
    return f"{logical}-{hashlib.sha256(logical.encode()).hexdigest()[:8]}"


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def kubernetes_manifest(logical: str, inputs: dict[str, Any], versions: list[str]) -> tuple[str, dict[str, Any], str]:
    """``(id, state, validated against)`` of one object; ValueError when it is invalid.

    Built-in kinds are validated with kubernetes-validate, strict (unknown fields refused), at every
    Kubernetes minor the program's clusters run. A custom resource (a CRD's: Argo Events' EventBus and
    EventSource) must name its apiVersion, kind and name; its schema comes with its chart, which is not here:
    the manifests gate validates it (tests/gates/test_kubernetes_manifests.py)."""
    import kubernetes_validate

    api_version, kind = inputs.get("apiVersion"), inputs.get("kind")
    if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
        raise ValueError("an object needs apiVersion and kind")
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", _auto_name(logical))
    manifest = {**inputs, "metadata": metadata}
    if _group(api_version) in _BUILT_IN_GROUPS:
        for version in versions:
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                raise ValueError(f"Kubernetes {version} has no {kind} in {api_version}") from None
            except kubernetes_validate.ValidationError as err:
                path = "/".join(str(p) for p in err.path) or "(top level)"
                raise ValueError(f"{kind} {metadata['name']}: {path}: {err.message} (Kubernetes {version}, strict)") from None
        validated = f"Kubernetes {', '.join(versions)} schemas, strict"
    else:
        validated = "custom resource: apiVersion, kind and name (its CRD's schema is checked by the manifests gate)"
    if kind in _CLUSTER_SCOPED and metadata.get("namespace"):
        raise ValueError(f"{kind} is cluster-scoped: metadata.namespace must not be set")
    if kind in _CLUSTER_SCOPED:
        object_id = metadata["name"]
    else:
        metadata.setdefault("namespace", "default")
        object_id = f"{metadata['namespace']}/{metadata['name']}"
    return object_id, {"metadata": metadata}, validated


def helm_release(logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    """``(id, state, validated against)`` of a ``helm.v3.Release``; ValueError when helm could not install it
    as declared (no chart; values that are not a map; a chart from a repository without a pinned version)."""
    chart = inputs.get("chart")
    if not isinstance(chart, str) or not chart:
        raise ValueError("a release needs a chart")
    values = inputs.get("values") or {}
    if not isinstance(values, dict):
        raise ValueError("values must be a map (helm's values.yaml shape)")
    repository = (inputs.get("repositoryOpts") or {}).get("repo")
    if (repository or chart.startswith("oci://")) and not inputs.get("version"):
        raise ValueError(
            f"chart {chart!r} from {repository or 'an OCI registry'} has no version: helm would install whatever is latest"
        )
    name = inputs.get("name") or _auto_name(logical)
    namespace = inputs.get("namespace") or "default"
    status = {"name": name, "namespace": namespace, "chart": chart, "version": inputs.get("version") or "", "status": "unknown"}
    return (
        f"{namespace}/{name}",
        {"name": name, "namespace": namespace, "status": status},
        "chart, repository, version and values",
    )
