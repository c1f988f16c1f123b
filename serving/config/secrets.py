"""Secrets a model server needs: environment variables from secrets, and private registries.

    server:
      secretEnv:
        NGC_API_KEY: {value: {secure: v1:...}}              # a stack secret (written to a Secret of the model's own)
        HF_TOKEN: {existingSecret: hf-reader, key: token}    # a key of an existing Secret in the team namespace
      imagePullSecrets: [nvcr-pull]                         # existing dockerconfigjson Secrets
      registry: {server: nvcr.io, username: "$oauthtoken", password: {secure: v1:...}}   # or one from stack secrets

Values reach the container through `valueFrom.secretKeyRef` (never as a literal in the pod spec) and are never
printed: the plan shows "[secret]".
"""

from __future__ import annotations

import re
from typing import Optional

from pydantic import Field, field_validator, model_validator

from .base import Name, Secret, StrictModel

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: A Secret key (Kubernetes: alphanumerics, '-', '_', '.').
SECRET_KEY = r"^[-._a-zA-Z0-9]{1,253}$"


class SecretEnvVar(StrictModel):
    """One environment variable from a secret: a stack secret (`value`) or a key of an existing Secret."""

    value: Optional[Secret] = None
    existing_secret: Optional[Name] = None
    #: The key in `existingSecret` (default: the variable's name).
    key: Optional[str] = Field(None, pattern=SECRET_KEY)

    @model_validator(mode="after")
    def _one_source(self) -> "SecretEnvVar":
        if (self.value is None) == (self.existing_secret is None):
            raise ValueError("set value (a stack secret) or existingSecret, exactly one")
        if self.key is not None and self.existing_secret is None:
            raise ValueError("key only applies with existingSecret")
        return self


class RegistryCredentials(StrictModel):
    """A private registry login from stack secrets: written to a `kubernetes.io/dockerconfigjson` Secret."""

    server: str = Field(pattern=r"^[a-z0-9]([a-z0-9.\-]*[a-z0-9])?(:[0-9]{1,5})?$")
    username: str = Field(min_length=1)
    password: Secret


class ServerSecrets(StrictModel):
    """The secret fields of `server` (mixed into it)."""

    #: Environment variables from secrets (name -> source); names may not repeat `env`.
    secret_env: dict[str, SecretEnvVar] = Field(default_factory=dict)
    #: Existing image pull Secrets (type kubernetes.io/dockerconfigjson) in the team namespace.
    image_pull_secrets: list[Name] = Field(default_factory=list)
    #: A registry login from stack secrets (e.g. nvcr.io for NVIDIA NIM: username `$oauthtoken`, an NGC API key).
    registry: Optional[RegistryCredentials] = None

    @field_validator("secret_env")
    @classmethod
    def _names(cls, v: dict[str, SecretEnvVar]) -> dict[str, SecretEnvVar]:
        for key in v:
            if not ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not an environment variable name")
        return v
