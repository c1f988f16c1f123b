"""What every model server pod shares, whether a model's own Deployment (`workload.py`) or a fleet's shared server
(`components/fleet.py`): the user it runs as, its container security context, its drain pause, its Service ports,
and how a runtime preset's `{placeholder}`s are filled."""

from __future__ import annotations

import re
from typing import Any, Mapping

#: Every model container runs as this user/group (>= 10000: no clash with a host user; checkov CKV_K8S_40).
RUN_AS_USER = 10001
#: Pause in preStop so the gateway and kube-proxy stop sending before the server gets SIGTERM.
PRE_STOP_SECONDS = 10
#: Port every track's Service exposes the server's HTTP port on.
SERVICE_PORT = 80
#: Port a Service exposes the server's gRPC port on (models with `exposure.grpc`, fleets).
GRPC_SERVICE_PORT = 9000

SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": RUN_AS_USER,
    "runAsGroup": RUN_AS_USER,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Fill `{placeholder}`s of a runtime preset (unknown braces are left alone)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)
