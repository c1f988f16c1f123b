"""`python -m serving check`: the whole rendered platform of a stack, checked before anything is deployed.

Every check reads the same offline plan (`serving.plan.capture_plan`, chart objects included once the releases are
rendered into it) and returns `Finding`s:

- `schema`    strict Kubernetes schemas and CRD schemas (reference CRDs and those the releases install),
- `checkov`   checkov on every Kubernetes object, and on the AWS side through a Terraform-plan-shaped JSON,
- `policy`    the pulumi-policy pack in `policy/`, run in its own virtualenv on the captured plan,
- `placement` every pod fits a pool it may run on, every pool holds what it must at its maxSize, priorities,
- `ordering`  whatever needs a CRD, webhook or API another release installs waits for that release.

`run_checks` runs them; `serving.cli` prints one line per finding and a summary, exit 1 on a mandatory finding.
"""

from .findings import ADVISORY, MANDATORY, Finding, Report
from .runner import CHECK_KINDS, CheckContext, run_checks

__all__ = ["ADVISORY", "CHECK_KINDS", "CheckContext", "Finding", "MANDATORY", "Report", "run_checks"]
