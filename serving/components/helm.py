"""Installing a pinned Helm chart as one `kubernetes.helm.v3.Release`.

A Release (not `helm.v4.Chart`) because the charts we install rely on Helm hooks (cert-manager's startupapicheck,
kube-prometheus-stack's admission-webhook jobs) that only a real Helm release runs, and because one resource with
its values is what a reviewer reads in a preview diff.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from ..catalog.charts import ChartPin


def chart_release(
    name: str,
    pin: ChartPin,
    namespace: str,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    *,
    release_name: Optional[str] = None,
    create_namespace: bool = True,
    timeout_seconds: int = 600,
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name,
        k8s.helm.v3.ReleaseArgs(
            name=release_name or name,
            chart=pin.chart,
            version=pin.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pin.repo) if pin.repo else None,
            namespace=namespace,
            create_namespace=create_namespace,
            values=dict(values),
            atomic=True,
            cleanup_on_fail=True,
            wait_for_jobs=True,
            timeout=timeout_seconds,
        ),
        opts=opts,
    )
