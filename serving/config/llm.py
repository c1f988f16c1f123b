"""LLM serving options of a model (`inference:`): its endpoint picker and how its replicas get the weights.

Every model whose runtime preset is an LLM server (`llm: true`, e.g. `vllm`) is served through a Gateway API
`InferencePool` whose endpoint picker (llm-d router EPP, `components/inference_pool.py`) sends each request to the
replica with the shortest queue, the most free KV cache and the longest cached prefix of the prompt. The defaults
are right for a production model; the block only tunes them:

    inference:
      picker: {replicas: 2, failureMode: FailClose}
      weights: auto          # auto | mount | download
      openaiEndpoint: true   # also served on the stack's one OpenAI endpoint, /v1 (routed by the body's model)

`weights`:
- `mount`: the Mountpoint for Amazon S3 CSI driver mounts the model's S3 prefix read-only in every replica (one
  Mountpoint per node and volume, with a node-local cache): a new replica reads the weights straight from S3 while
  vLLM loads them, nothing is copied per replica (`components/shared_weights.py`). Needs an `s3://` artifact and the
  driver (installed as an EKS add-on on `eks` clusters; on `existing` clusters declare it with
  `cluster.existing.s3MountpointDriver: true`).
- `download`: the storage initializer copies the weights into each replica's own volume first (the only way for
  `hf://` artifacts).
- `auto` (default): `mount` where it is possible, else `download`.

`openaiEndpoint`: the shared `https://<gateway host>/v1/...` endpoint routes by the `model` field of the body, which
the gateway reads only after it has authenticated the request (Envoy Gateway runs its api_key_auth and jwt_authn
filters before ext_proc filters, `internal/xds/translator/httpfilters.go`; Envoy AI Gateway puts its body-reading
ext_proc among those, `internal/extensionserver/post_translate_modify.go`). Authentication there is therefore
decided before the model is known, by whichever model's route the request first matches: every LLM on the endpoint
must authenticate the same way (checked below). Rate limits, timeouts and retries apply per model (they run after
the model is known). A model with other credentials sets `openaiEndpoint: false` and is called at
`/models/<name>/v1/...` only, under its own authentication.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Issue, StrictModel

if TYPE_CHECKING:
    from .models import Artifact, ModelConfig
    from .platform import PlatformConfig

#: `InferencePool.spec.endpointPickerRef.failureMode` values (inference.networking.k8s.io/v1 CRD).
FailureMode = Literal["FailClose", "FailOpen"]
WeightsMode = Literal["auto", "mount", "download"]


class PickerOptions(StrictModel):
    """The endpoint picker (EPP) of the model's InferencePools."""

    #: Pods of each picker Deployment; more than one runs leader election (one active, the others hot standbys that
    #: take over in seconds: EPP `--ha-enable-leader-election`). At least 2 in prod.
    replicas: int = Field(2, ge=1, le=5)
    #: What the gateway does when the picker cannot be reached: `FailClose` (default) answers 5xx; `FailOpen` would
    #: send the request on without a pick. Envoy AI Gateway v1.1.0, which programs InferencePool routing into Envoy
    #: Gateway, always builds the picker's ext_proc filter with `failure_mode_allow: false`
    #: (internal/extensionserver/inferencepool.go), i.e. it fails closed whatever the pool says; `FailOpen` is
    #: therefore refused until the gateway honours it, rather than written into a pool that would not behave so.
    failure_mode: FailureMode = "FailClose"


class InferenceOptions(StrictModel):
    picker: PickerOptions = Field(default_factory=PickerOptions)
    weights: WeightsMode = "auto"
    #: p95 time to first token (seconds) of a pool above which `InferencePoolTimeToFirstTokenHigh` fires.
    time_to_first_token_seconds: float = Field(2.0, gt=0, le=600)
    #: Average waiting requests per replica of a pool (as its picker sees them) above which `InferencePoolQueueHigh`
    #: fires: the autoscaler is not keeping up (or is at maxReplicas).
    queue_alert: float = Field(10, gt=0)
    #: Also served on the stack's shared OpenAI endpoint `/v1` (an AIGatewayRoute matching the body's `model`).
    openai_endpoint: bool = True


def mounts_weights(cfg: "PlatformConfig", model: "ModelConfig", artifact: "Artifact") -> bool:
    """True when the model's replicas mount this artifact (Mountpoint for S3) instead of downloading it."""
    if not model.preset.llm or artifact.scheme != "s3":
        return False
    mode = model.inference.weights
    if mode == "download":
        return False
    return mountpoint_driver(cfg)


def mountpoint_driver(cfg: "PlatformConfig") -> bool:
    """The Mountpoint for Amazon S3 CSI driver runs in the cluster: installed by the platform (EKS add-on) or declared
    present on an existing cluster."""
    if cfg.cluster.mode == "eks":
        return True
    return bool(cfg.cluster.existing and cfg.cluster.existing.s3_mountpoint_driver)


def checks(cfg: "PlatformConfig") -> list[Issue]:
    issues: list[Issue] = []
    for i, m in enumerate(cfg.models):
        loc = ("models", i, "inference")
        if not m.preset.llm:
            if "inference" in m.model_fields_set:
                issues.append(Issue(loc, f"runtime {m.runtime!r} is not an LLM server: inference options apply to LLM runtimes only"))
            continue
        if m.canary is not None and "weight" in m.canary.model_fields_set:
            issues.append(Issue(
                ("models", i, "canary", "weight"),
                "an LLM's canary replicas join the model's InferencePool and get requests as its endpoint picker scores "
                "them (about their share of the pool); Envoy AI Gateway v1.1.0 serves one pool per route rule, so a "
                "weight cannot be applied: drop weight and size the canary with replicas",
            ))
        if m.scaling.min_replicas == 0 and m.scaling.active_hours is None:
            issues.append(Issue(
                ("models", i, "scaling", "activeHours"),
                "an LLM is reached through its endpoint picker, which sends to pod addresses, so a request cannot wake "
                "it from zero: with minReplicas 0 set activeHours (when it runs), or minReplicas >= 1",
            ))
        if m.inference.picker.failure_mode == "FailOpen":
            issues.append(Issue(
                (*loc, "picker", "failureMode"),
                "FailOpen is not honoured by the gateway (Envoy AI Gateway v1.1.0 always fails closed when the picker "
                "is unreachable); use FailClose and keep picker.replicas >= 2",
            ))
        if m.inference.weights == "mount":
            schemes = sorted({m.artifact_of(c).scheme for _, c in [("primary", None), *m.candidates()]} - {"s3"})
            if schemes:
                issues.append(Issue((*loc, "weights"), f"mount needs s3:// artifacts (this model has {', '.join(schemes)}://); use download"))
            if not mountpoint_driver(cfg):
                issues.append(Issue(
                    (*loc, "weights"),
                    "mount needs the Mountpoint for Amazon S3 CSI driver: on an existing cluster install it and set "
                    "cluster.existing.s3MountpointDriver: true, or use download",
                ))
    issues += _shared_endpoint_auth(cfg)
    if cfg.gateway.backend_tls and inference_gateway(cfg):
        issues.append(Issue(
            ("gateway", "backendTls"),
            "TLS to the pod is not available while the platform serves an LLM: the gateway sends an LLM's requests to "
            "the replica its endpoint picker chooses, at the pod's own server port (Envoy AI Gateway v1.1.0 builds "
            "that upstream without TLS); set backendTls: false, or serve no vllm model on this stack",
        ))
    return issues


def inference_gateway(cfg: "PlatformConfig") -> bool:
    """The platform serves at least one LLM: the gateway gets Envoy AI Gateway (InferencePool routing, `/v1`)."""
    return any(m.preset.llm for m in cfg.models)


def picker_pods(model: "ModelConfig") -> int:
    """Endpoint picker pods of a model (one Deployment; `Recreate`, no surge)."""
    return model.inference.picker.replicas if model.preset.llm else 0


def on_openai_endpoint(model: "ModelConfig") -> bool:
    """The model is served on the stack's shared OpenAI endpoint `/v1` (and has an AIGatewayRoute)."""
    return model.preset.llm and model.inference.openai_endpoint


def _auth_signature(model: "ModelConfig") -> tuple[object, ...]:
    """What the gateway checks to authenticate a request of the model (compared, never printed)."""
    e = model.exposure
    if e.jwt is not None:
        return ("jwt", e.jwt.issuer, e.jwt.jwks_uri, tuple(sorted(e.jwt.audiences)))
    if e.api_key is not None:
        keys = tuple(sorted((c, k.get_secret_value()) for c, k in e.api_key.keys.items()))
        return ("apiKey", e.api_key.header, e.api_key.existing_secret, keys)
    return ("none",)


def _auth_words(signature: tuple[object, ...]) -> str:
    return {"jwt": "JWT", "apiKey": "API keys", "none": "no authentication"}[str(signature[0])]


def _shared_endpoint_auth(cfg: "PlatformConfig") -> list[Issue]:
    """Every LLM on the shared `/v1` endpoint authenticates the same way (see the module docstring: the gateway
    authenticates before it knows the model)."""
    on_endpoint = [(i, m) for i, m in enumerate(cfg.models) if on_openai_endpoint(m)]
    if len(on_endpoint) < 2:
        return []
    first_i, first = on_endpoint[0]
    reference = _auth_signature(first)
    issues = []
    for i, m in on_endpoint[1:]:
        signature = _auth_signature(m)
        if signature == reference:
            continue
        detail = (f"{_auth_words(signature)} here, {_auth_words(reference)} on models[{first_i}] ({first.name})"
                  if signature[0] != reference[0] else f"its {_auth_words(signature)} differ from those of models[{first_i}] ({first.name})")
        issues.append(Issue(
            ("models", i, "exposure"),
            f"every LLM on the shared OpenAI endpoint /v1 must authenticate the same way: the gateway checks credentials "
            f"before it reads the model from the request body ({detail}); give them the same exposure.jwt or "
            f"exposure.apiKey, or set inference.openaiEndpoint: false to serve this model at /models/{m.name}/v1 only",
        ))
    return issues
