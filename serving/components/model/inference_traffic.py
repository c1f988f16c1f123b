"""Traffic part of an LLM model: its serving tracks behind one InferencePool, reached by its own route and the
OpenAI route.

The same HTTPRoute as `traffic.Traffic` (path, rewrite, shadow mirror, stop answer, route policies), with the model's
InferencePool as the backend instead of the tracks' Services; plus the pool and its endpoint picker
(`components/inference_pool.py`), and the model's OpenAI route under `/v1` (`components/openai_route.py`). An LLM
does not wake on request (`ModelConfig.wakes_on_request`): the picker sends to pod addresses, which the KEDA
interceptor cannot front.
"""

from __future__ import annotations

import pulumi

from ...config.llm import on_openai_endpoint
from ..gateway import Gateway
from ..inference_pool import InferencePoolPart
from ..openai_route import openai_route, pool_backend_refs
from .context import ModelContext
from .traffic import Traffic
from .workload import WorkloadOutputs


class InferenceTraffic(Traffic):
    """`Traffic` for an LLM model: its pool and picker, the route to the pool, the OpenAI route."""

    def __init__(self, ctx: ModelContext, gateway: Gateway, workload: WorkloadOutputs):
        ai = gateway.ai_gateway
        assert ai is not None  # the gateway installs Envoy AI Gateway whenever a model is an LLM
        self.pool = InferencePoolPart(ctx.name, ctx.model, ctx.cfg, ctx.namespace, ctx.opts, depends_on=list(ai.ready))
        super().__init__(ctx, gateway, workload, backend_refs=pool_backend_refs(ctx.model), backends=[self.pool.pool])
        # On the shared `/v1` endpoint unless the model opts out (`inference.openaiEndpoint`, config/llm.py).
        self.openai = openai_route(
            ctx.name, ctx.model, ctx.namespace, ctx.cfg.gateway.hostname, ctx.labels,
            ctx.with_deps(gateway, self.pool.pool, ai.ready, self.policies),
        ) if on_openai_endpoint(ctx.model) else []
