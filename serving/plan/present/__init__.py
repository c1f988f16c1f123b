"""The presenting half of the offline plan: plan data in, text out. Nothing here runs the program.

- `tree`: what `pulumi preview` prints (tree, diagnostics, outputs, summary, cost section),
- `manifests`: one YAML file per Kubernetes object / Helm release (`plan --manifests`),
- `diff`: what `pulumi preview --diff` prints and its JSON digest, `markdown`: the pull-request comment,
- `cost`: cost lines. The `pulumi preview --json` shape of a plan is `serving.plan.digest` (read by both halves).
"""
