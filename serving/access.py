"""How an operator reaches the cluster after `pulumi up`: the command that writes a kubeconfig, as a stack output.

`pulumi stack output kubeconfigCommand` prints it; run it with the deploying identity (or one of
`cluster.eks.adminPrincipals`: EKS access entries decide who may use the cluster, not the kubeconfig).
"""

from __future__ import annotations

import shlex

import pulumi

from .config import PlatformConfig


def kubeconfig_command(cfg: PlatformConfig, cluster_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """`aws eks update-kubeconfig --name <cluster> --region <region> --alias <cluster>` on EKS; on an existing
    cluster, the `kubectl config use-context` of its configured context (the kubeconfig is the user's own)."""
    if cfg.cluster.mode == "eks":
        region = cfg.cluster.eks.region
        return pulumi.Output.from_input(cluster_name).apply(
            lambda name: f"aws eks update-kubeconfig --name {shlex.quote(name)} --region {region} --alias {shlex.quote(name)}")
    existing = cfg.cluster.existing
    context = existing.context if existing is not None else None
    kubeconfig = existing.kubeconfig if existing is not None else None
    prefix = f"KUBECONFIG={shlex.quote(kubeconfig)} " if kubeconfig else ""
    command = f"{prefix}kubectl config use-context {shlex.quote(context)}" if context else f"{prefix}kubectl config current-context"
    return pulumi.Output.from_input(command)
