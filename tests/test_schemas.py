"""The Helm-values checker itself: a misspelt key fails, a key under a documented free-form map passes."""

from __future__ import annotations

from .schemas import chart_defaults, unknown_chart_values, unknown_value_paths

DEFAULTS = {
    "replicaCount": 1,
    "nodeSelector": {"kubernetes.io/os": "linux"},  # free-form, with a default entry
    "extraArgs": {"v": 4, "logtostderr": True},  # free-form flags, with defaults
    "podAnnotations": {"keda": {}, "webhooks": {}},  # per-component maps: structure, not free-form
    "resources": {},  # `{}`: any map
    "operator": {"nodeSelector": {"kubernetes.io/os": "linux"}, "image": "gpu-operator", "tolerations": []},
    "serviceMonitor": {"selector": {"release": "prometheus-operator"}, "interval": "30s"},
}


def unknown(values: dict, **kw) -> list[str]:
    return list(unknown_value_paths(values, DEFAULTS, **kw))


def test_misspelt_keys_fail_at_any_depth() -> None:
    assert unknown({"replicaCont": 2}) == ["replicaCont"]
    assert unknown({"operator": {"nodeSelectr": {"a": "b"}}}) == ["operator.nodeSelectr"]
    assert unknown({"podAnnotations": {"kedaa": {"a": "b"}}}) == ["podAnnotations.kedaa"]
    # A map where the chart has a scalar: a wrong nesting level.
    assert unknown({"operator": {"image": {"repository": "x"}}}) == ["operator.image"]


def test_free_form_maps_accept_new_keys() -> None:
    values = {
        "nodeSelector": {"serving.platform/pool": "system"},
        "operator": {"nodeSelector": {"serving.platform/pool": "system"}, "tolerations": [{"key": "x"}]},
        "extraArgs": {"expander": "least-waste", "v": 2},
        "podAnnotations": {"keda": {"example.com/anything": "1"}},
        "resources": {"requests": {"cpu": "100m"}},
    }
    assert unknown(values) == []


def test_a_free_form_path_is_named_per_chart() -> None:
    values = {"serviceMonitor": {"selector": {"prometheus": "platform"}}}
    assert unknown(values) == ["serviceMonitor.selector.prometheus"]  # not a free-form name: checked by default
    assert unknown(values, free_form=frozenset({"serviceMonitor.selector"})) == []
    assert unknown({"serviceMonitor": {"intervall": "1m"}}, free_form=frozenset({"serviceMonitor.selector"})) \
        == ["serviceMonitor.intervall"]


def test_against_real_chart_defaults() -> None:
    # gpu-operator's operator.nodeSelector defaults to {kubernetes.io/os: linux}: our pool label is accepted there,
    # a typo next to it is not.
    assert chart_defaults("gpu-operator")["operator"]["nodeSelector"]  # skips without ../shared
    assert unknown_chart_values({"operator": {"nodeSelector": {"serving.platform/pool": "system"}}}, "gpu-operator") == []
    assert unknown_chart_values({"operator": {"nodeselector": {}}}, "gpu-operator") == ["operator.nodeselector"]
    # Hand-checked subchart keys pass; others of the subchart still fail.
    assert unknown_chart_values({"node-feature-discovery": {"master": {"nodeSelector": {"a": "b"}}}}, "gpu-operator") == []
    assert unknown_chart_values({"node-feature-discovery": {"master": {"nodeSelectr": {}}}}, "gpu-operator") \
        == ["node-feature-discovery.master.nodeSelectr"]
    # cluster-autoscaler's extraArgs has defaults (logtostderr, v): new flags are accepted.
    assert unknown_chart_values({"extraArgs": {"expander": "least-waste"}}, "cluster-autoscaler") == []
    assert unknown_chart_values({"extraArg": {"expander": "least-waste"}}, "cluster-autoscaler") == ["extraArg"]
