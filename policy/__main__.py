"""The platform's policy pack: `pulumi preview --policy-pack policy` (see rules.py for what it checks).

`python -m serving check` evaluates the same policies offline on the captured plan (evaluate.py, run in this pack's
own virtualenv: pulumi-policy pins older protobuf/grpcio than the program's pulumi)."""

from pulumi_policy import PolicyPack

from policies import policies

PolicyPack(name="ml-serving-platform", policies=policies())
