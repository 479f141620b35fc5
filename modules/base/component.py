"""The base class of the layers' components: child options, and where the resources land, looked up once.

Registers nothing: a :class:`Component` is the ``pulumi.ComponentResource`` its subclass declares (same
type token, name and options), and :class:`AwsContext` only invokes data sources, never declares resources.
"""

from __future__ import annotations

import functools
from typing import Any

import pulumi
import pulumi_aws as aws


class AwsContext:
    """The partition, DNS suffix, region and account of a component's resources.

    Each data source (``aws.get_partition``, ``aws.get_region``, ``aws.get_caller_identity``) is invoked on
    first use and then reused, with the component as the invoke's parent so that it goes through the
    component's provider. Per component, not per program: a component given another provider (another
    region or account) must see its own, and Outputs must not outlive the program run that made them
    (the tests run many programs in one process).
    """

    def __init__(self, parent: pulumi.Resource) -> None:
        self._opts = pulumi.InvokeOutputOptions(parent=parent)

    @functools.cached_property
    def _partition(self) -> Any:
        return aws.get_partition_output(opts=self._opts)

    @functools.cached_property
    def _region(self) -> Any:
        return aws.get_region_output(opts=self._opts)

    @functools.cached_property
    def _identity(self) -> Any:
        return aws.get_caller_identity_output(opts=self._opts)

    @property
    def partition(self) -> pulumi.Output[str]:
        """``aws``, ``aws-cn`` or ``aws-us-gov``: the second field of every ARN."""
        return self._partition.partition

    @property
    def dns_suffix(self) -> pulumi.Output[str]:
        """``amazonaws.com`` (``amazonaws.com.cn`` in China): service endpoints and ``kms:ViaService`` values."""
        return self._partition.dns_suffix

    @property
    def region(self) -> pulumi.Output[str]:
        return self._region.region

    @property
    def account_id(self) -> pulumi.Output[str]:
        return self._identity.account_id

    @functools.cached_property
    def where(self) -> pulumi.Output[dict[str, str]]:
        """All four at once, as a dict with the keys ``partition``, ``dns_suffix``, ``region``, ``account_id``."""
        return pulumi.Output.all(
            partition=self.partition, dns_suffix=self.dns_suffix, region=self.region, account_id=self.account_id
        )


class Component(pulumi.ComponentResource):
    """A layer's component: ``_child``, ``_stateful`` and ``_invoke_opts`` options, and ``_aws`` (its AWS context)."""

    def __init__(
        self, t: str, name: str, props: dict[str, Any] | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(t, name, props, opts)
        self._aws = AwsContext(self)

    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options of a child resource: parented to this component (plus ``depends_on`` and the like)."""
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _invoke_opts(self) -> pulumi.InvokeOutputOptions:
        """Options of a data-source invoke (an AMI, the availability zones): through this component's provider."""
        return pulumi.InvokeOutputOptions(parent=self)

    def _stateful(self, protect: bool, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options of a stateful child (data, keys): with ``protect``, Pulumi refuses to delete it and a
        resource that leaves the program stays in AWS. Its logical name never changes (URN stability);
        renames go through ``aliases``."""
        return pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect, **kwargs)
