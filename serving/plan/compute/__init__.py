"""The computing half of the offline plan: from a stack to plan data, no printing.

- `capture` runs `__main__.py` under the SDK mock runtime and records every registration,
- `mocks` holds the deterministic outputs per resource type and invoke (tables other modules add rows to),
- `diff` compares two plans (`replacements`: which input changes force a replacement),
- `cost` estimates what a plan would cost to run.

The data they produce is in `serving.plan.model` / `serving.plan.values`; `serving.plan.present` prints it.
"""
