"""Secrets of a model server (a model's `server` or a fleet): environment variables from secrets, pull secrets.

- Stack-secret variables (`secretEnv.<NAME>.value`) go to one Secret `<workload>-env` (key = variable name); variables
  from an existing Secret reference it. Either way the container gets `valueFrom.secretKeyRef`: no value is ever in
  the pod spec, the plan, or a log.
- `imagePullSecrets` names existing Secrets; `registry` (stack secrets) becomes a `kubernetes.io/dockerconfigjson`
  Secret `<workload>-registry` (the format kubelet reads: `{"auths": {server: {username, password, auth}}}`,
  https://kubernetes.io/docs/concepts/configuration/secret/#docker-config-secrets).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import pulumi
import pulumi_kubernetes as k8s

from ..config.secrets import RegistryCredentials, ServerSecrets
from .k8s import meta


@dataclass
class PodSecrets:
    """What the pod spec gets: env entries (valueFrom), imagePullSecrets, and the Secrets to depend on."""

    env: list[dict[str, Any]] = field(default_factory=list)
    image_pull_secrets: list[dict[str, str]] = field(default_factory=list)
    resources: list[pulumi.Resource] = field(default_factory=list)


def docker_config_json(registry: RegistryCredentials) -> str:
    user, password = registry.username, registry.password.get_secret_value()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    return json.dumps({"auths": {registry.server: {"username": user, "password": password, "auth": auth}}}, sort_keys=True)


def server_secrets(
    name: str, workload: str, namespace: str, labels: Mapping[str, str], secrets: ServerSecrets, opts: pulumi.ResourceOptions,
) -> PodSecrets:
    """Create the Secrets a server's config asks for (Pulumi names `<name>-env`, `<name>-registry`; Kubernetes names
    `<workload>-env`, `<workload>-registry`) and return what its pod spec needs."""
    out = PodSecrets()
    inline = {k: v.value for k, v in sorted(secrets.secret_env.items()) if v.value is not None}
    if inline:
        out.resources.append(k8s.core.v1.Secret(
            f"{name}-env", metadata=meta(f"{workload}-env", namespace, labels), type="Opaque",
            string_data={k: pulumi.Output.secret(v.get_secret_value()) for k, v in inline.items()}, opts=opts,
        ))
    for var, src in sorted(secrets.secret_env.items()):
        secret, key = (f"{workload}-env", var) if src.value is not None else (src.existing_secret, src.key or var)
        out.env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    out.image_pull_secrets = [{"name": n} for n in secrets.image_pull_secrets]
    if secrets.registry is not None:
        out.resources.append(k8s.core.v1.Secret(
            f"{name}-registry", metadata=meta(f"{workload}-registry", namespace, labels),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": pulumi.Output.secret(docker_config_json(secrets.registry))}, opts=opts,
        ))
        out.image_pull_secrets.append({"name": f"{workload}-registry"})
    return out
