"""Artifact stores beyond AWS S3 and Hugging Face: S3-compatible endpoints, GCS, volumes and OCI model images.

    artifact: {uri: s3://models/churn/v3, endpoint: "http://minio.minio.svc:9000",
               credentials: {existingSecret: minio-reader}}          # MinIO / Ceph RGW
    artifact: {uri: gs://models/churn/v3}                              # GCS (Workload Identity or a key)
    artifact: {uri: pvc://model-store/churn/v3}                        # a PersistentVolumeClaim of the team namespace
    artifact: {uri: oci://registry.example.com/models/churn:v3}        # an OCI model image (KServe modelcar)

How each is fetched is `components/artifacts.py`.
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from .base import Name, Secret, StrictModel

#: Keys of a credentials Secret for an S3-compatible store (KServe's S3 secret convention; the storage initializer
#: reads these environment variables: kserve_storage.py `_get_s3_client_kwargs`, boto3's credential chain).
S3_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
S3_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
#: Key of a credentials Secret for GCS: a service-account JSON key (KServe's GCS secret key name).
GCS_KEY = "gcloud-application-credentials.json"

#: `http(s)://host[:port]` of an S3-compatible store.
ENDPOINT_PATTERN = r"^https?://[a-z0-9]([a-z0-9.\-]*[a-z0-9])?(:[0-9]{1,5})?/?$"


class StoreCredentials(StrictModel):
    """Credentials for an artifact store: an existing Secret of the team namespace, or stack secrets (written to a
    Secret of the model's own). Only the download init container sees them, never the server."""

    #: A Secret in the team namespace with keys AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (s3) or
    #: gcloud-application-credentials.json (gs).
    existing_secret: Optional[Name] = None
    access_key_id: Optional[Secret] = None
    secret_access_key: Optional[Secret] = None
    #: gs:// only: a service-account JSON key.
    service_account_key: Optional[Secret] = None

    @model_validator(mode="after")
    def _one_source(self) -> "StoreCredentials":
        inline = [k for k, v in (("accessKeyId", self.access_key_id), ("secretAccessKey", self.secret_access_key),
                                 ("serviceAccountKey", self.service_account_key)) if v is not None]
        if self.existing_secret is not None and inline:
            raise ValueError(f"set existingSecret or {', '.join(inline)}, not both")
        if self.existing_secret is None and not inline:
            raise ValueError("set existingSecret, accessKeyId + secretAccessKey (s3) or serviceAccountKey (gs)")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("accessKeyId and secretAccessKey go together")
        if self.service_account_key is not None and self.access_key_id is not None:
            raise ValueError("serviceAccountKey (gs) and accessKeyId/secretAccessKey (s3) do not go together")
        return self

    @property
    def inline(self) -> bool:
        return self.existing_secret is None


class Endpoint(StrictModel):
    """Parsed `artifact.endpoint`."""

    scheme: str
    host: str
    port: int

    @property
    def in_cluster_namespace(self) -> Optional[str]:
        """`<service>.<namespace>.svc[.cluster.local]` -> the namespace (egress then goes to it only)."""
        m = re.match(r"^[a-z0-9\-]+\.([a-z0-9\-]+)\.svc(\.cluster\.local)?$", self.host)
        return m.group(1) if m else None


def parse_endpoint(url: str) -> Endpoint:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Endpoint(scheme=parts.scheme, host=parts.hostname or "", port=port)


class StoreOptions(StrictModel):
    """The store fields of `artifact` (mixed into it): endpoint and credentials."""

    #: s3:// only: an S3-compatible endpoint (MinIO, Ceph RGW...), `http(s)://host[:port]`; unset: AWS S3.
    endpoint: Optional[str] = Field(None, pattern=ENDPOINT_PATTERN)
    #: s3:// with an endpoint, or gs://: where the download's credentials come from (unset for gs://: the pod's
    #: Workload Identity, or anonymous access to a public bucket).
    credentials: Optional[StoreCredentials] = None

    @field_validator("endpoint")
    @classmethod
    def _port(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not 0 < parse_endpoint(v).port < 65536:
            raise ValueError("the endpoint's port must be 1-65535")
        return v
