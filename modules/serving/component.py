"""The serving layer (:class:`Serving`): Seldon Core v2.6.0 and one MLServer per team namespace, on the Kubernetes
layer's cluster.

Everything goes through the cluster's one ``kubernetes.Provider``, which the composition root hands in (a layer
imports no other layer): the Helm releases (pinned in core/charts.py) and every per-team object, each a typed
resource or a ``CustomResource`` (modules/base/objects.py). What the objects are is ``manifests.py``'s, pure and
validated offline against the Seldon v2.6.0 CRDs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from core import charts, naming
from modules.base import Component, LayerArgs, LogKeyArgs
from modules.base.objects import declare_object
from modules.serving import manifests, metrics
from modules.serving.settings import ServingSettings

# Envoy's Service in every namespace with a SeldonRuntime: inference for the namespace's models
# (``/v2/models/<model>/infer``, header ``Seldon-Model: <model or experiment>.experiment``).
MESH_SERVICE = "seldon-mesh"


@dataclass
class ServingTeam:
    """One team's serving inputs, from the Kubernetes and team layers (through the composition root)."""

    name: str
    namespace: str
    data_scientist_group: str
    """The team's Kubernetes group (its data-scientist role's EKS access entry): bound to the model deployers' Role."""
    namespace_ready: Sequence[pulumi.Resource] = ()
    """What must exist before anything goes into the namespace (the Kubernetes layer's namespace component)."""


@dataclass
class ServingArgs(LayerArgs, LogKeyArgs):
    """Inputs of :class:`Serving`. ``log_kms_key_arn`` encrypts the metrics collector's log group."""

    settings: ServingSettings
    provider: k8s.Provider
    """The Kubernetes layer's provider: every release and object of this layer goes through it."""
    region: str
    """The rclone remote's region (the datastore's)."""
    teams: Sequence[ServingTeam]
    cluster_name: str
    """The EKS cluster's name (``naming.eks_cluster``): the ``ClusterName`` dimension of the serving metrics."""
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    """The cluster's IAM OIDC provider and its issuer URL: the metrics collector's IRSA role trusts them."""
    platform_ready: Sequence[pulumi.Resource] = field(default_factory=list)
    """What the releases wait for: the cluster's nodes, DNS and admin access (the Kubernetes layer's releases)."""


class Serving(Component):
    """Seldon Core v2.6.0's CRDs and controller (``seldon-system``), and per team namespace its SeldonRuntime
    (Helm), its rclone storage Secret, its MLServer Server, its data scientists' Role for Models and Experiments,
    and the NetworkPolicies that let the controller reach the namespace's scheduler and the metrics collector its
    Seldon agents; once, the metrics collector (the CloudWatch agent, ``metrics.py``) with its log group and IRSA
    role."""

    releases: list[k8s.helm.v3.Release]
    inference_urls: dict[str, str]
    """team -> Envoy inside the cluster (``http://seldon-mesh.<namespace>.svc.cluster.local``)."""
    namespaces: dict[str, str]
    """team -> the namespace its models are deployed to."""

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("strata:serving:Serving", name, None, opts)
        s = args.settings
        if not s.enabled:
            raise ValueError(f"Serving {name!r}: strata:serving.enabled is false; the composition root declares no layer then")
        team_names = [t.name for t in args.teams]
        if len(set(team_names)) != len(team_names):
            raise ValueError(f"Serving {name!r}: duplicate team names in {team_names}")
        self._name, self._provider = name, args.provider

        crds = self._release(name, charts.SELDON_CRDS, naming.SERVING_NAMESPACE, manifests.crds_values(), args.platform_ready)
        setup = self._release(
            name, charts.SELDON_SETUP, naming.SERVING_NAMESPACE, manifests.setup_values(), [*args.platform_ready, crds]
        )
        self.releases = [crds, setup]
        self.inference_urls, self.namespaces = {}, {}
        for team in args.teams:
            spec = manifests.TeamServingSpec(
                team=team.name,
                namespace=team.namespace,
                region=args.region,
                data_scientist_group=team.data_scientist_group,
                mlserver_image=s.mlserver_image,
                replicas=s.server_replicas,
                cpu_millicores=s.server_cpu_millicores,
                memory_mib=s.server_memory_mib,
            )
            # The runtime and every object wait for the namespace and for Seldon's CRDs and controller.
            ready = [*team.namespace_ready, crds, setup]
            runtime = self._release(
                f"{name}-{team.name}",
                charts.SELDON_RUNTIME,
                team.namespace,
                manifests.runtime_values(),
                ready,
                release_name=manifests.RUNTIME_RELEASE,
                create_namespace=False,
            )
            self.releases.append(runtime)
            for obj in manifests.team_objects(spec):
                # The Server after its runtime (the scheduler it registers with); the rest only needs the namespace.
                server = obj["kind"] == "Server"
                after = [*ready, runtime] if server else ready
                declare_object(
                    f"{name}-{team.name}-{obj['kind'].lower()}-{obj['metadata']['name']}",
                    obj,
                    # The Server is created with the stack's replicas (0 by default); from then on the team scales it
                    # (`strata serve deploy` starts a stopped one), and `pulumi up` must not reset that.
                    self._child(provider=args.provider, depends_on=after, ignore_changes=["spec.replicas"] if server else None),
                )
            self.inference_urls[team.name] = f"http://{MESH_SERVICE}.{team.namespace}.svc.cluster.local"
            self.namespaces[team.name] = team.namespace

        self.metrics_log_group, self.metrics_role = self._collector(args)
        self.register_outputs({"inference_urls": self.inference_urls, "namespaces": self.namespaces})

    def _collector(self, args: ServingArgs) -> tuple[aws.cloudwatch.LogGroup, aws.iam.Role]:
        """The metrics collector (``metrics.py``): its log group (pre-created with retention and the observability
        key, so the agent needs no CreateLogGroup), its IRSA role (its one service account; that log group and the
        ``Strata/Serving`` metrics only), and its Kubernetes objects, after the cluster's platform pieces."""
        n, tags = self._name, dict(args.tags)
        log_group = aws.cloudwatch.LogGroup(
            f"{n}-metrics-logs",
            name=naming.serving_metrics_log_group(args.environment),
            retention_in_days=args.settings.log_retention_days,
            kms_key_id=args.log_kms_key_arn,
            tags=tags,
            opts=self._child(),
        )
        role = aws.iam.Role(
            f"{n}-metrics",
            name=naming.eks_role(args.environment, "serving-metrics"),
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda v: json.dumps(metrics.trust_policy(v[0], v[1]))
            ),
            description=(
                f"Strata {args.environment} EKS: the serving metrics collector "
                f"(IRSA, {metrics.NAMESPACE}:{metrics.SERVICE_ACCOUNT})"
            ),
            tags=tags,
            opts=self._child(),
        )
        policy = aws.iam.RolePolicy(
            f"{n}-metrics",
            role=role.id,
            name="serving-metrics",
            # The group's ARN from its name (what IAM evaluates), not the resource's output: one shape everywhere.
            policy=pulumi.Output.all(log_group.name, self._aws.where).apply(
                lambda v: json.dumps(
                    metrics.role_policy(f"arn:{v[1]['partition']}:logs:{v[1]['region']}:{v[1]['account_id']}:log-group:{v[0]}")
                )
            ),
            opts=self._child(),
        )
        objects = metrics.collector_objects(
            cluster=args.cluster_name,
            region=args.region,
            log_group=naming.serving_metrics_log_group(args.environment),
            namespaces=[t.namespace for t in args.teams],
            role_arn=role.arn,
        )
        declared: list[pulumi.Resource] = []
        for obj in objects:
            # The namespace first; the Deployment last, once its role can write to its log group.
            after = [*args.platform_ready, *declared[:1]]
            if obj["kind"] == "Deployment":
                after += [*declared, log_group, policy]
            declared.append(
                declare_object(
                    f"{n}-metrics-{obj['kind'].lower()}-{obj['metadata']['name']}",
                    obj,
                    self._child(provider=args.provider, depends_on=after),
                )
            )
        return log_group, role

    def _release(
        self,
        logical: str,
        chart: charts.Chart,
        namespace: str,
        values: Mapping[str, Any],
        depends: Sequence[pulumi.Resource],
        *,
        release_name: str | None = None,
        create_namespace: bool = True,
    ) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            f"{logical}-{chart.name}",
            name=release_name or chart.name,
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repository_url},
            namespace=namespace,
            create_namespace=create_namespace,
            values=dict(values),
            opts=self._child(provider=self._provider, depends_on=list(depends)),
        )
