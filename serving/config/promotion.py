"""How `python -m serving promote` maps another stack's artifact locations onto this stack's.

Each environment keeps its models in its own place (a dev bucket, a prod bucket: each stack's model roles may read
only their own). Promoting a version from dev must not point prod at dev's bucket, so the TARGET stack says where
its copies of another stack's artifacts live:

    promotion:
      artifactRoots:
        s3://example-models-dev/: s3://example-models-prod/

An artifact URI starting with a source root is rewritten to the target root (the rest of the path kept). `promote`
refuses, with the reason, an s3:// URI that no root maps while the target serves that model from another bucket.
Copying the files themselves is the release pipeline's job (e.g. `aws s3 sync`), not the platform's.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from .base import StrictModel

_ROOT = re.compile(r"^(s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/(\S+/)?|hf://[\w.\-]+/)$")


class PromotionConfig(StrictModel):
    #: Source artifact root -> this stack's root, both ending in '/': e.g. `s3://example-models-dev/` ->
    #: `s3://example-models-prod/`.
    artifact_roots: dict[str, str] = Field(default_factory=dict)

    @field_validator("artifact_roots")
    @classmethod
    def _roots(cls, v: dict[str, str]) -> dict[str, str]:
        for root in (*v, *v.values()):
            if not _ROOT.match(root):
                raise ValueError("artifact roots are s3://bucket/ or s3://bucket/prefix/ (or hf://owner/), ending in '/'")
        return v

    def map_uri(self, uri: str) -> str | None:
        """`uri` under this stack's root, or None when no root applies (the longest matching source root wins)."""
        for source in sorted(self.artifact_roots, key=len, reverse=True):
            if uri.startswith(source):
                return self.artifact_roots[source] + uri[len(source):]
        return None
