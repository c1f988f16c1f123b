"""Kubernetes manifests of a plan (`plan --manifests DIR`): one YAML file per Kubernetes object and Helm release.

The program's objects and the releases are files at the top (`<kind>.<namespace>.<name>.yaml`,
`helm.<namespace>.<release>.yaml`); the objects a release installs (rendered, `serving.plan.compute.charts`) are in
a folder named after the release file, `helm.<namespace>.<release>/<kind>.<namespace>.<name>.yaml`.

Deterministic (same plan -> byte-identical files); secrets print as "[secret]".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from ..model import HELM_CHART_TYPES, Plan, ResourceState, is_kubernetes_object
from ..values import to_plain

#: Marks a manifests directory this tool created, whose stale files it may delete.
MANIFESTS_MARKER = ".serving-plan-manifests"
_TOP_LEVEL_ORDER = ("apiVersion", "kind", "metadata")


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_deep(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(v) for v in value]
    return value


def kubernetes_manifest(state: ResourceState) -> dict[str, Any]:
    """The object as it would be applied: the inputs, secrets as "[secret]", keys sorted after
    apiVersion, kind and metadata."""
    body = _sorted_deep(to_plain(state.inputs))
    body.setdefault("kind", state.type.rsplit(":", 1)[-1])
    if "apiVersion" not in body:
        group_version = state.type.split(":")[1]
        body["apiVersion"] = group_version.removeprefix("core/")
    body.setdefault("metadata", {})
    ordered = {k: body[k] for k in _TOP_LEVEL_ORDER}
    ordered.update({k: v for k, v in body.items() if k not in ordered})
    return ordered


def _slug(text: Any) -> str:
    return re.sub(r"[^a-z0-9.\-]+", "-", str(text).lower()).strip("-") or "unnamed"


def kubernetes_file_name(state: ResourceState, manifest: Mapping[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    parts = [manifest["kind"]]
    if meta.get("namespace"):
        parts.append(meta["namespace"])
    parts.append(meta.get("name") or state.name)
    return ".".join(_slug(p) for p in parts) + ".yaml"


def helm_release(state: ResourceState) -> dict[str, Any]:
    """A Helm release (`helm.v3.Release` or `helm.v4.Chart`): what would be installed, with which values."""
    inputs = to_plain(state.inputs)
    repo_opts = inputs.get("repositoryOpts") or {}
    out = {
        "name": inputs.get("name") or state.name,
        "namespace": inputs.get("namespace") or "default",
        "chart": inputs.get("chart", ""),
        "repository": repo_opts.get("repo", ""),
        "version": inputs.get("version", ""),
    }
    for key in ("createNamespace", "skipCrds", "atomic", "timeout", "valueYamlFiles"):
        if key in inputs:
            out[key] = inputs[key]
    out["values"] = _sorted_deep(inputs.get("values") or {})
    return out


def manifest_documents(plan: Plan) -> dict[str, dict[str, Any]]:
    """File name (relative path) -> document for every Kubernetes object and Helm release of the plan."""
    docs: dict[str, dict[str, Any]] = {}
    release_folders: dict[str, str] = {}

    def add(name: str, doc: dict[str, Any], state: ResourceState) -> None:
        if name in docs:  # same kind, namespace and name in two API groups: tell them apart by the type token
            name = name[: -len(".yaml")] + f".{_slug(state.type.split(':')[1].replace('/', '-'))}.yaml"
        docs[name] = doc

    for state in plan.resources:
        if state.type in HELM_CHART_TYPES:
            release = helm_release(state)
            release_folders[state.urn] = f"helm.{_slug(release['namespace'])}.{_slug(release['name'])}"
            add(f"{release_folders[state.urn]}.yaml", release, state)
        elif is_kubernetes_object(state):
            manifest = kubernetes_manifest(state)
            folder = release_folders.get(state.chart_release, "")
            add(f"{folder}/" * bool(folder) + kubernetes_file_name(state, manifest), manifest, state)
    return dict(sorted(docs.items()))


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data and not any(line != line.rstrip() for line in data.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)


def write_manifests(plan: Plan, directory: Path) -> list[Path]:
    """Write one YAML file per Kubernetes object / Helm release into `directory`. Stale `*.yaml` files of an
    earlier run are removed only from a directory this tool created; otherwise files are just overwritten."""
    directory = Path(directory)
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / MANIFESTS_MARKER
    if created:
        marker.write_text("Written by `python -m serving plan --manifests`; stale files here are deleted.\n")
    docs = manifest_documents(plan)
    if marker.exists():
        for old in sorted(directory.rglob("*.yaml")):
            if old.relative_to(directory).as_posix() not in docs:
                old.unlink()
        for folder in sorted(directory.glob("helm.*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    written = []
    for name, doc in docs.items():
        path = directory / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(to_yaml(doc))
        written.append(path)
    return written


def iter_manifest_texts(plan: Plan) -> Iterable[tuple[str, str]]:
    """(file name, YAML text) pairs, as `write_manifests` would write them."""
    for name, doc in manifest_documents(plan).items():
        yield name, to_yaml(doc)
