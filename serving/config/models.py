"""Model and team config: one entry per served model, shaped like KServe's InferenceService spec.

A model is small and declarative; everything else has a default that is right for its runtime:

    - name: llama-chat
      team: nlp
      runtime: vllm
      version: "2026-11-01"
      artifact: {uri: s3://models/llama-3.1-8b/2026-11-01, sizeGi: 16}
      resources: {gpus: 1}
      scaling: {minReplicas: 1, maxReplicas: 4}
      canary: {version: "2026-11-15", artifact: {uri: s3://models/llama-3.1-8b/2026-11-15, sizeGi: 16}, weight: 10}

Fields split in two kinds (see `VERSION_FIELDS`): *version fields* say WHAT is served (runtime, image, artifact,
canary/shadow candidates) and are promoted from one environment to the next unchanged; every other field says HOW
MUCH / WHERE in this environment (replicas, resources, pools, hosts, route options) and stays per environment.
Promoting a canary is an edit of version fields: copy the canary's `version`/`artifact`/`image` into the model and
drop `canary`; the plan then shows the primary Deployment rolling to the new version and the canary going away.
"""

from __future__ import annotations

import copy
import fnmatch
import math
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Mapping, Optional

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..catalog.runtimes import (
    PRESETS,
    STORAGE_INITIALIZER_CPU,
    STORAGE_INITIALIZER_MEMORY_LIMIT,
    RuntimePreset,
    ScalingMetric,
    runtime_names,
)
from .base import (
    CpuQuantity,
    Issue,
    MemoryQuantity,
    Name,
    Secret,
    StrictModel,
    cpu_cores,
    duplicate_names,
    memory_bytes,
)
from .fleets import SharedServing
from .secrets import ServerSecrets
from .stores import StoreOptions
from .gateway import HOSTNAME_PATTERN, RouteOptions
from ..catalog.llm import EPP_CPU_REQUEST, EPP_MEMORY_LIMIT
from .llm import InferenceOptions, mounts_weights, picker_pods

if TYPE_CHECKING:
    from .cluster import GpuPoolConfig
    from .platform import PlatformConfig

# ---------------------------------------------------------------------------------------------------------------
# Teams


class Quota(StrictModel):
    """The team namespace's ResourceQuota: the sum over all its pods (requests; memory limits too)."""

    cpu: CpuQuantity = "32"
    memory: MemoryQuantity = "128Gi"
    gpus: int = Field(4, ge=0)
    pods: int = Field(100, ge=1)
    #: Sum of PersistentVolumeClaim sizes (model caches are generic ephemeral volumes: they count here).
    storage: MemoryQuantity = "2Ti"


class LimitDefaults(StrictModel):
    """The team namespace's LimitRange for containers that do not say what they need (model pods always do)."""

    default_cpu_request: CpuQuantity = "100m"
    default_memory_request: MemoryQuantity = "256Mi"
    default_memory_limit: MemoryQuantity = "1Gi"
    #: The largest memory limit one container may have.
    max_memory: MemoryQuantity = "256Gi"

    @model_validator(mode="after")
    def _order(self) -> "LimitDefaults":
        if memory_bytes(self.default_memory_request) > memory_bytes(self.default_memory_limit):
            raise ValueError("defaultMemoryRequest must be <= defaultMemoryLimit")
        if memory_bytes(self.default_memory_limit) > memory_bytes(self.max_memory):
            raise ValueError("defaultMemoryLimit must be <= maxMemory")
        return self


class TeamConfig(StrictModel):
    name: Name
    quota: Quota = Field(default_factory=Quota)
    limits: LimitDefaults = Field(default_factory=LimitDefaults)


# ---------------------------------------------------------------------------------------------------------------
# Models

#: An image reference pinned by tag and/or digest (`repo:tag`, `repo@sha256:...`, `repo:tag@sha256:...`); never
#: an implicit or explicit `latest`.
IMAGE_PATTERN = re.compile(
    r"^(?P<repo>[a-z0-9]+(?:[._\-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._\-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.\-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def _image(value: str) -> str:
    m = IMAGE_PATTERN.match(value)
    if not m:
        raise ValueError(f"{value!r} is not an image reference (registry/repo:tag or registry/repo@sha256:<64 hex>)")
    if not m.group("tag") and not m.group("digest"):
        raise ValueError(f"{value!r} has neither tag nor digest: pin it (repo:tag, or repo@sha256:... for immutability)")
    if m.group("tag") == "latest" and not m.group("digest"):
        raise ValueError(f"{value!r}: 'latest' is not a pin; use a version tag or a digest")
    return value


#: A pinned image reference (validated by `_image`): `repo:tag`, `repo@sha256:...` or `repo:tag@sha256:...`.
ImageRef = Annotated[str, AfterValidator(_image)]


def image_with_tag(image: str, tag: str) -> str:
    """`repo:old` -> `repo:<tag>` (a preset's image with the model's `runtimeVersion`)."""
    m = IMAGE_PATTERN.match(image)
    assert m is not None
    return f"{m.group('repo')}:{tag}"


#: `s3://bucket/prefix`, `gs://bucket/prefix`, `hf://owner/model[:revision]`, `pvc://claim[/path]`, `oci://image`
#: (a model image, KServe's modelcar) or `image://` (the model is baked into the server image). A Hugging Face
#: revision has no `/` (a branch, tag or commit): the initializer splits the URI on `/` into exactly two parts.
ARTIFACT_URI = re.compile(
    r"^(s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/\S+|gs://[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]/\S+"
    r"|hf://[\w.\-]+/[\w.\-]+(:[\w.\-]+)?|pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[\w.\-]+)*/?|oci://\S+|image://)$"
)
#: A KMS key ARN (IAM resources name keys, not aliases).
KMS_KEY_ARN = r"^arn:aws[a-z\-]*:kms:[a-z0-9\-]+:\d{12}:key/[A-Za-z0-9\-]+$"


class Artifact(StoreOptions):
    """Where the model's files come from: downloaded by an init container into a volume the server reads (s3, gs,
    hf), a PersistentVolumeClaim mounted read-only (pvc), a model image beside the server (oci), or the server image."""

    uri: str = Field(description="s3://bucket/prefix, gs://bucket/prefix, hf://owner/model[:revision], pvc://claim/path, "
                                 "oci://registry/repo:tag or image:// (baked into the image)")
    #: Approximate size on disk; sizes the cache volume and the startup-probe budget.
    size_gi: float = Field(1, gt=0, le=4096)
    #: Where the download is kept: `volume` (a generic ephemeral volume on the default StorageClass, gp3 on EKS),
    #: `emptyDir` (node disk), `auto` (volume from 10 GiB up). Either survives container restarts, so a crashed or
    #: liveness-killed server restarts without downloading again.
    cache: Literal["auto", "volume", "emptyDir"] = "auto"
    #: Hugging Face token for gated/private `hf://` models (a Pulumi secret; stored in a Kubernetes Secret).
    hf_token: Optional[Secret] = None
    #: `image://` only: where the model sits inside the image (default: the runtime's model directory).
    path: Optional[str] = Field(None, pattern=r"^/[\w.\-/]*$")
    #: `s3://` only: the KMS key of an SSE-KMS bucket (its ARN, `arn:aws:kms:<region>:<account>:key/<id>`); the
    #: model's role may then decrypt with it through S3.
    kms_key_arn: Optional[str] = None

    @field_validator("uri")
    @classmethod
    def _uri(cls, v: str) -> str:
        if not ARTIFACT_URI.match(v):
            raise ValueError(f"{v!r} is not a supported artifact URI (s3://bucket/prefix, gs://bucket/prefix, "
                             f"hf://owner/model[:revision], pvc://claim/path, oci://registry/repo:tag, image://)")
        if v.startswith("oci://"):
            _image(v[len("oci://"):])  # pinned like any image: a tag and/or digest, never latest
        return v

    @field_validator("kms_key_arn")
    @classmethod
    def _kms_key(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not re.match(KMS_KEY_ARN, v):
            raise ValueError(f"{v!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; not an alias)")
        return v

    @model_validator(mode="after")
    def _per_scheme(self) -> "Artifact":
        if self.hf_token is not None and self.scheme != "hf":
            raise ValueError("hfToken only applies to hf:// artifacts")
        if self.path is not None and self.scheme != "image":
            raise ValueError("path only applies to image:// artifacts (downloads always land in the runtime's model directory)")
        if self.kms_key_arn is not None and (self.scheme != "s3" or self.endpoint is not None):
            raise ValueError("kmsKeyArn only applies to s3:// artifacts on AWS S3 (no endpoint)")
        if self.endpoint is not None and self.scheme != "s3":
            raise ValueError("endpoint only applies to s3:// artifacts (an S3-compatible store)")
        if self.credentials is not None:
            c = self.credentials
            if self.scheme == "s3" and self.endpoint is None:
                raise ValueError("credentials apply to an S3-compatible endpoint; AWS S3 access comes from the model's IAM role")
            if self.scheme not in ("s3", "gs"):
                raise ValueError("credentials only apply to s3:// (with an endpoint) and gs:// artifacts")
            if self.scheme == "s3" and c.service_account_key is not None:
                raise ValueError("serviceAccountKey is for gs:// artifacts; an S3-compatible store takes accessKeyId + secretAccessKey")
            if self.scheme == "gs" and c.access_key_id is not None:
                raise ValueError("accessKeyId/secretAccessKey are for s3:// artifacts; gs:// takes serviceAccountKey")
        if self.scheme == "s3" and self.endpoint is not None and self.credentials is None:
            raise ValueError("an S3-compatible endpoint needs credentials (existingSecret, or accessKeyId + secretAccessKey)")
        return self

    @property
    def scheme(self) -> str:
        return self.uri.split("://", 1)[0]

    @property
    def downloaded(self) -> bool:
        """Fetched by the storage initializer into the cache volume (s3, gs, hf)."""
        return self.scheme in ("s3", "gs", "hf")

    @property
    def aws_s3(self) -> bool:
        """On AWS S3 (read through the model's IAM role), not an S3-compatible endpoint."""
        return self.scheme == "s3" and self.endpoint is None

    def pvc_location(self) -> tuple[str, str]:
        """(claim, path inside the volume, '' for its root) of a pvc:// URI."""
        claim, _, path = self.uri[len("pvc://"):].partition("/")
        return claim, path.strip("/")

    @property
    def oci_image(self) -> str:
        """The model image of an oci:// URI."""
        return self.uri[len("oci://"):]

    @property
    def cache_volume(self) -> bool:
        """True: a generic ephemeral volume; False: an emptyDir."""
        return self.cache == "volume" or (self.cache == "auto" and self.size_gi >= 10)

    @property
    def cache_size_gi(self) -> int:
        """Size of the cache volume: the model plus 20% and 1 GiB of headroom, whole GiB."""
        return int(math.ceil(self.size_gi * 1.2 + 1))

    @property
    def download_uri(self) -> str:
        """The URI given to the initializer: an s3:// URI names a folder, so it ends in `/` (the initializer lists by
        key prefix: `.../v1` would also fetch `.../v12/...`, which the role may not read)."""
        if self.scheme != "s3":
            return self.uri
        bucket, prefix = self.s3_location()
        return f"s3://{bucket}/{prefix}/"

    def s3_location(self) -> tuple[str, str]:
        """(bucket, key prefix without trailing slash) of an s3:// URI."""
        bucket, _, prefix = self.uri[len("s3://") :].partition("/")
        return bucket, prefix.rstrip("/")


class Resources(StrictModel):
    """Per replica. Unset cpu/memory take the runtime's defaults. Memory is requested and limited alike."""

    cpu: Optional[CpuQuantity] = None
    memory: Optional[MemoryQuantity] = None
    #: A CPU limit (unset: none, so the server is never throttled below what the node has free; the request
    #: still guarantees its share).
    cpu_limit: Optional[CpuQuantity] = None
    gpus: int = Field(0, ge=0, le=16)
    #: The GPU pool to run on; may be omitted when exactly one GPU pool exists.
    gpu_pool: Optional[Name] = None
    #: One MIG device of this profile instead of a whole GPU (e.g. `1g.10gb`: 1 of 7 compute slices and 10 GB of an
    #: A100 80GB/H100), on a pool whose `migConfig` cuts its GPUs into it; `gpus` is then 1 (its default). Canary and
    #: shadow run on the same device as the primary (they are measured against it).
    mig_profile: Optional[str] = Field(None, pattern=r"^[1-7]g\.[0-9]{1,3}gb$")
    #: Size of /dev/shm for runtimes that use shared memory (default: 1/4 of memory, at most 16Gi).
    shm_size: Optional[MemoryQuantity] = None

    @model_validator(mode="before")
    @classmethod
    def _one_mig_device(cls, data: Any) -> Any:
        # A MIG profile means one MIG device: `gpus` defaults to 1 instead of 0.
        if isinstance(data, dict) and data.get("migProfile", data.get("mig_profile")) is not None \
                and "gpus" not in data:
            return {**data, "gpus": 1}
        return data

    @model_validator(mode="after")
    def _mig_gpus(self) -> "Resources":
        if self.mig_profile is not None and self.gpus != 1:
            raise ValueError("a MIG profile is one MIG device per replica (CUDA enumerates a single MIG device per "
                             "process): set gpus to 1 or leave it out")
        return self


_CRON = re.compile(r"^\S+ \S+ \S+ \S+ \S+$")


class ActiveHours(StrictModel):
    """A daily window (KEDA cron trigger) during which at least one replica runs; outside it the model may scale
    to zero. Needed for scale to zero: a request to a model with no pods is answered by the gateway itself (Envoy
    Gateway has no upstream to count it), so traffic cannot wake the model."""

    timezone: str = "UTC"
    #: Cron expressions (minute hour day-of-month month day-of-week) starting and ending the window.
    start: str = "0 8 * * 1-5"
    end: str = "0 19 * * 1-5"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)") from None
        return v

    @field_validator("start", "end")
    @classmethod
    def _cron(cls, v: str) -> str:
        if not _CRON.match(v):
            raise ValueError(f"{v!r} is not a cron expression with 5 fields (minute hour day month weekday)")
        return v


class Scaling(StrictModel):
    """Replica bounds and the signal autoscaling follows. minReplicas == maxReplicas: a fixed size, no autoscaler."""

    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    #: `cpu` (HPA on CPU utilisation) or a Prometheus signal through KEDA: `requests` (requests/s per replica),
    #: `queue` (requests waiting per replica) or `latency` (p95 seconds). Default: the runtime's.
    metric: Optional[ScalingMetric] = None
    #: Per-replica target of the metric (default: the runtime's).
    target: Optional[float] = Field(None, gt=0)
    #: How long the load must stay low before replicas are removed (default 300 s; 600 s with GPUs: a GPU replica
    #: is slow to come back).
    scale_down_stabilization_seconds: Optional[int] = Field(None, ge=0, le=3600)
    #: With minReplicas 0: when at least one replica runs anyway (a schedule on top of waking on request).
    active_hours: Optional[ActiveHours] = None
    #: With minReplicas 0: how long a request waits for the model to wake (node, image, weights) before the caller
    #: gets a 504 (default: the startup budget plus node provisioning time, `ModelConfig.wake_timeout_seconds`).
    wake_timeout_seconds: Optional[int] = Field(None, ge=10, le=3600)

    @model_validator(mode="after")
    def _bounds(self) -> "Scaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"minReplicas ({self.min_replicas}) must be <= maxReplicas ({self.max_replicas})")
        if self.min_replicas == 0:
            if self.metric == "cpu":
                raise ValueError("minReplicas 0 (scale to zero) needs a request-driven metric (requests, queue or latency), not cpu")
        else:
            if self.active_hours is not None:
                raise ValueError("activeHours only applies with minReplicas 0 (at least one replica during those hours)")
            if self.wake_timeout_seconds is not None:
                raise ValueError("wakeTimeoutSeconds only applies with minReplicas 0 (a model that can be at zero)")
        return self

    @property
    def autoscaled(self) -> bool:
        return self.min_replicas != self.max_replicas


class Candidate(StrictModel):
    """A second version served next to the primary (canary) or fed a copy of its traffic (shadow).

    Unset fields take the primary's value; a candidate differs in at least its `version`.
    """

    version: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    artifact: Optional[Artifact] = None
    image: Optional[ImageRef] = None
    runtime_version: Optional[str] = Field(None, pattern=r"^[\w][\w.\-]{0,127}$")
    replicas: int = Field(1, ge=1, le=20)


class Canary(Candidate):
    weight: int = Field(10, ge=0, le=100, description="Percent of traffic sent to the canary.")


class Shadow(Candidate):
    percent: int = Field(10, ge=1, le=100, description="Percent of requests mirrored to the shadow (responses discarded).")


class ServerOptions(ServerSecrets):
    """The server container: required for the `custom` runtime, optional overrides otherwise; secret environment
    variables and private registries (`config/secrets.py`)."""

    port: Optional[int] = Field(None, ge=1024, le=65535)
    ready_path: Optional[str] = Field(None, pattern=r"^/\S*$")
    live_path: Optional[str] = Field(None, pattern=r"^/\S*$")
    metrics_path: Optional[str] = Field(None, pattern=r"^/\S*$")
    metrics_port: Optional[int] = Field(None, ge=1024, le=65535)
    #: Extra arguments appended to the runtime's (e.g. `--max-model-len=8192`); the whole argument list for `custom`.
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    #: Explicit startup budget in seconds (default: from the runtime and the artifact's size).
    startup_timeout_seconds: Optional[int] = Field(None, ge=30, le=7200)

    @field_validator("env")
    @classmethod
    def _env_names(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise ValueError(f"{key!r} is not an environment variable name")
        return v

    @model_validator(mode="after")
    def _env_once(self) -> "ServerOptions":
        both = sorted(set(self.env) & set(self.secret_env))
        if both:
            raise ValueError(f"{', '.join(both)} set in both env and secretEnv")
        return self


class Exposure(RouteOptions):
    """How clients reach the model: a path on the shared gateway host (`/models/<name>`, rewritten to `/` for the
    server) or a host of its own, plus the gateway's per-route options (timeouts, retries, rate limit, auth)."""

    #: A host of its own (must be covered by the gateway's hostname, e.g. `*.models.example.com`); path is then `/`.
    host: Optional[str] = Field(None, pattern=HOSTNAME_PATTERN)
    #: Path prefix on the gateway host (default `/models/<name>`).
    path: Optional[str] = Field(None, pattern=r"^(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)+$")
    #: Also serve KServe v2 gRPC (Triton, MLServer) through a GRPCRoute with the same auth and limits: on the model's
    #: own host, or on the gateway host for requests carrying the header `x-model: <name>`.
    grpc: bool = False

    @model_validator(mode="after")
    def _host_or_path(self) -> "Exposure":
        if self.host is not None and self.path is not None:
            raise ValueError("set host (served at its root) or path (on the gateway host), not both")
        if self.host is not None and self.host.startswith("*."):
            raise ValueError("a model's host must be a single host, not a wildcard")
        return self


class ModelConfig(StrictModel):
    name: Name
    team: Name
    runtime: str = Field(min_length=1, description=f"One of: {', '.join(runtime_names())}")
    #: Overrides the tag of the runtime's pinned image (e.g. a newer vLLM).
    runtime_version: Optional[str] = Field(None, pattern=r"^[\w][\w.\-]{0,127}$")
    #: A whole image reference (tag and/or digest): the runtime's image built with the model, or a `custom` server.
    image: Optional[ImageRef] = None
    version: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    artifact: Artifact
    resources: Resources = Field(default_factory=Resources)
    scaling: Scaling = Field(default_factory=Scaling)
    canary: Optional[Canary] = None
    shadow: Optional[Shadow] = None
    #: Stopped: every track at zero replicas and the route answers 503 "model <name> is stopped"; everything else
    #: (config, identity, monitoring) stays. Remove the flag to start the model again.
    stopped: bool = False
    server: ServerOptions = Field(default_factory=ServerOptions)
    exposure: Exposure = Field(default_factory=Exposure)
    #: Serve on a shared server fleet instead of a Deployment of its own (`config/fleets.py`).
    shared: Optional[SharedServing] = None
    #: LLM runtimes only: endpoint picker and weight sharing (`config/llm.py`).
    inference: InferenceOptions = Field(default_factory=InferenceOptions)

    @field_validator("name")
    @classmethod
    def _service_name(cls, v: str) -> str:
        # The model's Services are `<name>`, `<name>-canary`, `<name>-shadow`: DNS-1035 labels (a letter first).
        if not v[0].isalpha():
            raise ValueError("a model name must start with a letter (it names Kubernetes Services)")
        if len(v) > 56:
            raise ValueError("a model name has at most 56 characters (room for the '-canary'/'-shadow' suffix)")
        return v

    @field_validator("runtime")
    @classmethod
    def _runtime(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"unknown runtime {v!r} (known runtimes: {', '.join(runtime_names())})")
        return v

    @model_validator(mode="after")
    def _runtime_fit(self) -> "ModelConfig":
        preset = PRESETS[self.runtime]
        if preset.name == "custom":
            missing = [k for k, v in (("image", self.image), ("server.port", self.server.port),
                                      ("server.readyPath", self.server.ready_path)) if v is None]
            if missing:
                raise ValueError(f"runtime 'custom' needs {', '.join(missing)} (any container with a port and a health path)")
            if self.runtime_version is not None:
                raise ValueError("runtimeVersion has no meaning for runtime 'custom': pin the tag in image")
        if self.image is not None and self.runtime_version is not None:
            raise ValueError("set image (a whole reference) or runtimeVersion (the preset image's tag), not both")
        if preset.requires_gpu and self.resources.gpus == 0:
            raise ValueError(f"runtime {self.runtime!r} needs a GPU: set resources.gpus")
        for kind, cand in (("canary", self.canary), ("shadow", self.shadow)):
            if cand is not None and cand.version == self.version:
                raise ValueError(f"{kind}.version must differ from version ({self.version!r}): it is the candidate's")
        if self.canary is not None and self.shadow is not None and self.canary.version == self.shadow.version:
            raise ValueError("canary and shadow serve the same version: use one of them")
        if self.shared is not None:
            dedicated_only = [k for k, v in (("canary", self.canary), ("shadow", self.shadow), ("image", self.image),
                                             ("runtimeVersion", self.runtime_version)) if v is not None]
            if self.scaling.autoscaled or self.scaling.min_replicas != 1:
                dedicated_only.append("scaling")
            if self.resources.gpus:
                dedicated_only.append("resources.gpus")
            if self.server != ServerOptions():
                dedicated_only.append("server")  # the fleet's server settings apply (fleets[].env, secretEnv, ...)
            if dedicated_only:
                raise ValueError(f"{', '.join(dedicated_only)} apply to dedicated serving; a shared model runs on its "
                                 f"fleet's server, replicas and GPUs (drop them, or drop shared)")
        return self

    # --- resolved values (defaults applied) ---------------------------------------------------------------------
    @property
    def preset(self) -> RuntimePreset:
        return PRESETS[self.runtime]

    @property
    def cpu(self) -> str:
        return self.resources.cpu or self.preset.default_cpu

    @property
    def memory(self) -> str:
        return self.resources.memory or self.preset.default_memory

    @property
    def metric(self) -> ScalingMetric:
        return self.scaling.metric or self.preset.default_metric

    @property
    def metric_target(self) -> float:
        return self.scaling.target if self.scaling.target is not None else self.preset.default_targets[self.metric]

    @property
    def port(self) -> int:
        port = self.server.port or self.preset.port
        assert port is not None  # custom requires server.port
        return port

    @property
    def metrics_port(self) -> int:
        return self.server.metrics_port or self.preset.metrics_port or self.port

    @property
    def path(self) -> str:
        """The route's path prefix on the gateway (`/` with a host of its own)."""
        if self.exposure.host is not None:
            return "/"
        return self.exposure.path or f"/models/{self.name}"

    def startup_budget_seconds(self, artifact: Optional[Artifact] = None) -> int:
        """Seconds the server gets from container start to ready: explicit, or from the runtime and model size."""
        if self.server.startup_timeout_seconds is not None:
            return self.server.startup_timeout_seconds
        size = (artifact or self.artifact).size_gi
        return int(self.preset.startup_base_seconds + math.ceil(size * self.preset.startup_seconds_per_gib))

    @property
    def wakes_on_request(self) -> bool:
        """Can be at zero replicas and is woken by its first request (through the KEDA HTTP add-on's interceptor).
        A stopped model keeps its wake objects (stopping is updates only); its route answers 503 before them.
        Not an LLM: its requests go through its InferencePool's endpoint picker straight to pod addresses, which the
        interceptor cannot front; an LLM at zero runs by `activeHours` (`config/llm.py`)."""
        return self.scaling.min_replicas == 0 and not self.preset.llm

    def wake_timeout_seconds(self) -> int:
        """How long a request to a model at zero waits for a ready replica: the server's startup budget plus the
        time to get a node (a GPU node from zero: instance launch, driver and device plugin, image pull)."""
        if self.scaling.wake_timeout_seconds is not None:
            return self.scaling.wake_timeout_seconds
        node = 600 if self.resources.gpus else 180
        return min(3600, self.startup_budget_seconds() + node)

    def version_of(self, candidate: Optional[Candidate] = None) -> str:
        """The version the primary (candidate None) or a canary/shadow candidate serves."""
        return candidate.version if candidate else self.version

    def artifact_of(self, candidate: Optional[Candidate] = None) -> Artifact:
        """The artifact of the primary, or of a candidate (the primary's unless the candidate has its own)."""
        return candidate.artifact if candidate and candidate.artifact else self.artifact

    def image_ref(self, candidate: Optional[Candidate] = None) -> str:
        """The server image of the primary, or of a canary/shadow candidate (unset candidate fields: the primary's)."""
        base = self.preset.image_for(self.resources.gpus)
        if candidate is not None and candidate.image:
            return candidate.image
        if candidate is not None and candidate.runtime_version:
            assert self.image or base
            return image_with_tag(self.image or base or "", candidate.runtime_version)
        if self.image:
            return self.image
        assert base is not None  # custom requires image
        return image_with_tag(base, self.runtime_version) if self.runtime_version else base

    def candidates(self) -> list[tuple[str, Candidate]]:
        """[("canary", canary), ("shadow", shadow)] for those that are set."""
        return [(k, c) for k, c in (("canary", self.canary), ("shadow", self.shadow)) if c is not None]

    def candidate_max_replicas(self, candidate: Candidate) -> int:
        """The most replicas a candidate's autoscaler may run: its share of the model's maximum (a canary's weight,
        a shadow's mirrored percent), never fewer than its configured `replicas`; its own `replicas` when the model
        has a fixed size."""
        if not self.scaling.autoscaled:
            return candidate.replicas
        share = candidate.weight if isinstance(candidate, Canary) else candidate.percent if isinstance(candidate, Shadow) else 100
        return max(candidate.replicas, math.ceil(self.scaling.max_replicas * share / 100))

    def pods_at_most(self) -> int:
        """Pods of this model at maxReplicas during a rolling update (one surge pod per Deployment)."""
        return self.scaling.max_replicas + 1 + sum(self.candidate_max_replicas(c) + 1 for _, c in self.candidates())


# ---------------------------------------------------------------------------------------------------------------
# Version fields (promotion) vs environment fields

#: Paths (YAML keys) of a model entry that say WHAT is served. `serving promote` copies exactly these from one
#: stack's model to the same-named model of another stack; a missing path in the source removes it in the target.
VERSION_FIELDS: tuple[str, ...] = (
    "runtime",
    "runtimeVersion",
    "image",
    "version",
    "artifact.uri",
    "artifact.sizeGi",
    "artifact.path",
    "artifact.kmsKeyArn",  # belongs to the bucket in artifact.uri
    "artifact.endpoint",  # the store artifact.uri lives in
    "canary",
    "shadow",
)
#: Everything else is per environment: replicas and autoscaling, resources and GPU pool, team, host/path and route
#: options, server tuning, artifact cache and token.
ENVIRONMENT_FIELDS: tuple[str, ...] = (
    "name", "team", "resources", "scaling", "server", "exposure", "shared", "artifact.cache", "artifact.hfToken",
    "artifact.credentials", "inference", "stopped",
)

_MISSING = object()


def _get(raw: Mapping[str, Any], path: str) -> Any:
    node: Any = raw
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def version_fields(model: Mapping[str, Any]) -> dict[str, Any]:
    """The version fields set in one raw model entry (camelCase YAML mapping): {path: value}."""
    out = {}
    for path in VERSION_FIELDS:
        value = _get(model, path)
        if value is not _MISSING:
            out[path] = copy.deepcopy(value)
    return out


def with_version_fields(target: Mapping[str, Any], source: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of raw model entry `target` whose version fields are those of `source` (others untouched)."""
    out = copy.deepcopy(dict(target))
    for path in VERSION_FIELDS:
        value = _get(source, path)
        *parents, leaf = path.split(".")
        node: Any = out
        for part in parents:
            if value is _MISSING and not isinstance(node.get(part), dict):
                node = None
                break
            node = node.setdefault(part, {})
        if node is None:
            continue
        if value is _MISSING:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Cross-field checks


def _host_covered(host: str, gateway_host: str) -> bool:
    return host == gateway_host or (gateway_host.startswith("*.") and fnmatch.fnmatchcase(host, gateway_host)
                                    and host.count(".") == gateway_host.count("."))


def checks(cfg: "PlatformConfig") -> list[Issue]:
    from .. import conventions  # imported here: conventions imports the config package
    from ..observability.metrics import QUEUE_RUNTIMES  # imported here: observability imports the config package

    issues = duplicate_names(cfg.teams, ("teams",)) + duplicate_names(cfg.models, ("models",))
    teams = {t.name: t for t in cfg.teams}
    gpu_pools = [p.name for p in cfg.node_pools.gpu]
    routes: dict[tuple[str, str], int] = {}
    for i, m in enumerate(cfg.models):
        if m.team not in teams:
            issues.append(Issue(("models", i, "team"), f"unknown team {m.team!r} (teams: {', '.join(sorted(teams)) or 'none'})"))
        if m.resources.gpus > 0:
            pool_name = m.resources.gpu_pool
            if pool_name is None:
                if len(gpu_pools) != 1:
                    issues.append(Issue(
                        ("models", i, "resources", "gpuPool"),
                        f"a model with GPUs needs gpuPool when there are {len(gpu_pools)} GPU pools ({', '.join(gpu_pools) or 'none'})",
                    ))
                else:
                    pool_name = gpu_pools[0]
            elif pool_name not in gpu_pools:
                issues.append(Issue(
                    ("models", i, "resources", "gpuPool"),
                    f"unknown GPU pool {pool_name!r} (GPU pools: {', '.join(gpu_pools) or 'none'})",
                ))
                pool_name = None
            pool = cfg.node_pools.gpu_pool(pool_name) if pool_name else None
            mig_issues = _mig_profile_issues(m, i, pool) if pool is not None else []
            issues += mig_issues
            if pool is not None and not mig_issues:
                resource = conventions.model_gpu_resource(pool, m.resources.mig_profile)
                per_node = conventions.pool_gpu_resources(pool).get(resource, 0)
                memory = pool.device_memory_gib(m.resources.mig_profile)
                if m.resources.gpus > per_node:
                    issues.append(Issue(
                        ("models", i, "resources", "gpus"),
                        f"{m.resources.gpus} GPUs per replica, but a node of pool {pool.name!r} "
                        f"({', '.join(pool.instance_types)}) has {per_node}: the pod could never be scheduled",
                    ))
                elif m.preset.llm and m.artifact.size_gi > m.resources.gpus * memory:
                    issues.append(Issue(
                        ("models", i, "artifact", "sizeGi"),
                        f"{m.artifact.size_gi:g} GiB of weights do not fit in {m.resources.gpus} x {memory} GiB "
                        f"of GPU memory on pool {pool.name!r}: ask for more GPUs (tensor parallel) or a larger GPU",
                    ))
        elif m.resources.gpu_pool is not None:
            issues.append(Issue(("models", i, "resources", "gpuPool"), "gpuPool is set but gpus is 0"))
        if m.scaling.autoscaled and m.metric == "queue" and m.runtime not in QUEUE_RUNTIMES:
            issues.append(Issue(
                ("models", i, "scaling", "metric"),
                f"runtime {m.runtime!r} exports no request queue the platform reads (queue works with: "
                f"{', '.join(sorted(QUEUE_RUNTIMES))}); use requests, latency or cpu",
            ))
        if m.resources.cpu_limit is not None and cpu_cores(m.resources.cpu_limit) < cpu_cores(m.cpu):
            issues.append(Issue(("models", i, "resources", "cpuLimit"), f"cpuLimit is below the CPU request ({m.cpu})"))
        host = m.exposure.host or cfg.gateway.hostname
        if m.exposure.host is not None and not _host_covered(m.exposure.host, cfg.gateway.hostname):
            issues.append(Issue(
                ("models", i, "exposure", "host"),
                f"{m.exposure.host!r} is not served by the gateway (its hostname is {cfg.gateway.hostname!r}; use a "
                f"wildcard gateway hostname such as '*.{cfg.gateway.hostname.removeprefix('*.')}' for per-model hosts)",
            ))
        key = (host, m.path)
        if key in routes and cfg.models[routes[key]].name != m.name:  # same name: already a duplicate-name issue
            issues.append(Issue(("models", i, "exposure"), f"{host}{m.path} is already the route of models[{routes[key]}]"))
        routes[key] = i
    issues += _quota_checks(cfg, teams)
    issues += _pool_capacity_checks(cfg)
    return issues


def _mig_profile_issues(m: ModelConfig, i: int, pool: "GpuPoolConfig") -> list[Issue]:
    """A model's MIG profile must be a device its pool really advertises; a pool cut into MIG devices under `mixed`
    has no whole GPU to give a model without one."""
    loc = ("models", i, "resources", "migProfile")
    family = pool.instance.family
    layout = pool.mig_layout
    if m.resources.mig_profile is None:
        if layout is not None and pool.mig_strategy == "mixed":
            return [Issue(("models", i, "resources", "gpus"),
                          f"pool {pool.name!r} advertises only MIG devices (migStrategy mixed, every GPU cut by its "
                          f"migConfig): set resources.migProfile to one of {', '.join(layout)}")]
        if layout is not None and m.resources.gpus > 1:
            return [Issue(("models", i, "resources", "gpus"),
                          f"pool {pool.name!r} gives MIG devices, and a process sees only one (CUDA enumerates a single "
                          f"MIG device per process): ask for 1, or use a pool of whole GPUs")]
        return []
    if pool.mig_strategy == "none" or not family.mig:
        return [Issue(loc, f"pool {pool.name!r} has no MIG (migStrategy none, or a GPU without MIG): use a pool with "
                           f"migStrategy single or mixed and a migConfig")]
    if m.resources.mig_profile not in family.mig_profiles:
        return [Issue(loc, f"not a MIG profile of the {family.gpu_model} {family.gpu_memory_gib} GB of pool "
                           f"{pool.name!r}: use one of {', '.join(family.mig_profiles)}")]
    if layout is None:
        return [Issue(loc, f"pool {pool.name!r} has no valid migConfig: its GPUs are not cut into MIG devices")]
    if m.resources.mig_profile not in layout:
        return [Issue(loc, f"pool {pool.name!r} cuts its GPUs into {', '.join(layout)} (its migConfig): ask for one "
                           f"of them, or change the pool's migConfig")]
    return []


def gpu_pool_name(cfg: "PlatformConfig", m: ModelConfig) -> Optional[str]:
    """The GPU pool a GPU model runs on (its gpuPool, or the only GPU pool); None if that is ambiguous."""
    pools = cfg.node_pools.gpu
    return m.resources.gpu_pool or (pools[0].name if len(pools) == 1 else None)


def _pool_capacity_checks(cfg: "PlatformConfig") -> list[Issue]:
    """The GPU models on a pool must fit on it at maxReplicas (plus canary/shadow replicas) with one rollout surge pod
    per Deployment (maxSurge 1, maxUnavailable 0): beyond the pool's maxSize the autoscaler cannot add a node, so
    replicas stay Pending and a rollout never finishes (`pulumi up` fails at the progress deadline)."""
    from .. import conventions

    issues: list[Issue] = []
    for pi, pool in enumerate(cfg.node_pools.gpu):
        per_node = conventions.pool_gpu_resources(pool)
        by_resource: dict[str, list[ModelConfig]] = {}
        for m in cfg.models:
            if m.resources.gpus and gpu_pool_name(cfg, m) == pool.name:
                by_resource.setdefault(conventions.model_gpu_resource(pool, m.resources.mig_profile), []).append(m)
        for resource, on_pool in by_resource.items():
            if resource not in per_node:
                continue  # a device the pool does not offer at all: reported on the model (`_mig_profile_issues`)
            need = sum(m.resources.gpus * m.pods_at_most() for m in on_pool)
            have = pool.max_size * per_node[resource]
            if need > have:
                what = "GPUs" if resource == conventions.GPU_RESOURCE else resource
                issues.append(Issue(
                    ("nodePools", "gpu", pi, "maxSize"),
                    f"the GPU models on pool {pool.name!r} ({', '.join(m.name for m in on_pool)}) need up to {need} "
                    f"{what} at maxReplicas plus one rollout surge pod each, but {pool.max_size} nodes x "
                    f"{per_node[resource]} {what} give {have}",
                ))
    return issues


def _downloads(m: ModelConfig) -> bool:
    return any(m.artifact_of(c).downloaded for c in (None, *(c for _, c in m.candidates())))


def pod_cpu(m: ModelConfig) -> float:
    """Cores a model pod is counted for (scheduler, ResourceQuota): its effective request, the larger of the server's
    and the download init container's."""
    return max(cpu_cores(m.cpu), cpu_cores(STORAGE_INITIALIZER_CPU) if _downloads(m) else 0.0)


def pod_memory(m: ModelConfig) -> float:
    """Bytes of memory a model pod is counted for: the larger of the server's and the download init container's limit
    (requests and limits are both under the team quota)."""
    return max(memory_bytes(m.memory), memory_bytes(STORAGE_INITIALIZER_MEMORY_LIMIT) if _downloads(m) else 0.0)


def _quota_checks(cfg: "PlatformConfig", teams: Mapping[str, TeamConfig]) -> list[Issue]:
    """A team's quota must admit all its models at maxReplicas, with one surge pod per Deployment during a rollout:
    otherwise the autoscaler asks for replicas the quota silently refuses."""
    issues: list[Issue] = []
    for ti, team in enumerate(cfg.teams):
        # Shared models have no pods of their own: their fleets' pods count (replicas plus one surge pod each).
        models = [m for m in cfg.models if m.team == team.name and m.shared is None]
        fleets = [f for f in cfg.fleets if f.team == team.name]
        if not models and not fleets:
            continue
        pickers = sum(picker_pods(m) for m in models)  # an LLM's endpoint pickers run in the team namespace too
        cpu = (sum(m.pods_at_most() * pod_cpu(m) for m in models) + sum((f.replicas + 1) * cpu_cores(f.cpu) for f in fleets)
               + pickers * cpu_cores(EPP_CPU_REQUEST))
        mem = (sum(m.pods_at_most() * pod_memory(m) for m in models) + sum((f.replicas + 1) * memory_bytes(f.memory) for f in fleets)
               + pickers * memory_bytes(EPP_MEMORY_LIMIT))
        gpus = sum(m.pods_at_most() * m.resources.gpus for m in models) + sum((f.replicas + 1) * f.gpus for f in fleets)
        pods = sum(m.pods_at_most() for m in models) + sum(f.replicas + 1 for f in fleets) + pickers
        storage = sum(m.pods_at_most() * m.artifact.cache_size_gi * 2**30 for m in models
                      if m.artifact.cache_volume and not mounts_weights(cfg, m, m.artifact))
        names = ", ".join([m.name for m in models] + [f"fleet {f.name}" for f in fleets])
        for key, need, have, shown in (
            ("cpu", cpu, cpu_cores(team.quota.cpu), f"{cpu:g} CPUs"),
            ("memory", mem, memory_bytes(team.quota.memory), f"{mem / 2**30:g}Gi"),
            ("gpus", gpus, team.quota.gpus, f"{gpus} GPUs"),
            ("pods", pods, team.quota.pods, f"{pods} pods"),
            ("storage", storage, memory_bytes(team.quota.storage), f"{storage / 2**30:g}Gi of model cache volumes"),
        ):
            if need > have:
                issues.append(Issue(
                    ("teams", ti, "quota", key),
                    f"too small for the team's models ({names}) at maxReplicas plus one rollout surge pod each: "
                    f"they need {shown}",
                ))
        for m in models:
            if memory_bytes(m.memory) > memory_bytes(team.limits.max_memory):
                i = cfg.models.index(m)
                issues.append(Issue(("models", i, "resources", "memory"), f"team {team.name!r} allows at most {team.limits.max_memory} per container (limits.maxMemory)"))
    return issues

