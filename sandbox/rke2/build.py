# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release-shaped RKE2 artifacts for the sandbox, and their upload to the emulator's artifact bucket.

``build(version, arch, out)`` writes the files of an RKE2 GitHub release that an airgap tarball install
uses (names as in https://github.com/rancher/rke2/releases; the install as in
https://docs.rke2.io/install/airgap): ``rke2.linux-<arch>.tar.gz`` (``bin/rke2`` is the stand-in
``sandbox/rke2/standin.py``; ``bin/rke2-killall.sh``, ``bin/rke2-uninstall.sh``,
``lib/systemd/system/rke2-{server,agent}.{service,env}``, ``share/rke2/``), the raw ``rke2.linux-<arch>``,
the image archives ``rke2-images*.linux-<arch>.tar.zst`` with their ``.txt`` image lists (placeholders, marked
SIMULATED inside), ``sha256sum-<arch>.txt`` over all of them, and ``install.sh``. The output is
byte-for-byte reproducible for a given version and architecture, so checksums stay put across rebuilds.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import ipaddress
import re
import tarfile
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
VERSION_RE = re.compile(r"v1\.(\d+)\.(\d+)\+rke2r(\d+)")
ARCHES = ("amd64", "arm64", "s390x")
MTIME = 1_700_000_000  # fixed, for reproducible archives


class BuildError(Exception):
    """The artifacts could not be built or uploaded."""


def zstd_frame(data: bytes) -> bytes:
    """``data`` as one zstd frame of raw (stored) blocks (RFC 8878 §3.1.1): valid zstd, stdlib only."""
    out = bytearray(b"\x28\xb5\x2f\xfd")  # magic number
    out.append(0xE0)  # frame header descriptor: 8-byte content size, single segment, no checksum, no dictionary
    out += len(data).to_bytes(8, "little")
    block = 128 * 1024
    chunks = [data[i : i + block] for i in range(0, len(data), block)] or [b""]
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        out += ((len(chunk) << 3) | int(last)).to_bytes(3, "little")  # block type 0: raw
        out += chunk
    return bytes(out)


def image_archives(version: str) -> dict[str, list[str]]:
    """Image archive base names for the version, each with the (placeholder) image names it holds."""
    minor = int(VERSION_RE.fullmatch(version).group(1))  # type: ignore[union-attr]
    tag = version.replace("+", "-")
    core = [
        f"docker.io/rancher/hardened-kubernetes:{tag}-build20250101",
        "docker.io/rancher/hardened-coredns:v1.12.1-build20250101",
        "docker.io/rancher/hardened-etcd:v3.5.21-k3s1-build20250101",
        "docker.io/rancher/hardened-k8s-metrics-server:v0.7.2-build20250101",
        "docker.io/rancher/klipper-helm:v0.9.5-build20250101",
        "docker.io/rancher/mirrored-pause:3.6",
        f"docker.io/rancher/rke2-runtime:{tag}",
        "docker.io/rancher/rke2-cloud-provider:v1.33.1-0.20250101-build20250101",
    ]
    ingress_nginx = ["docker.io/rancher/nginx-ingress-controller:v1.12.1-hardened1"]
    traefik = ["docker.io/rancher/mirrored-library-traefik:3.3.6"]
    canal = [
        "docker.io/rancher/hardened-calico:v3.29.3-build20250101",
        "docker.io/rancher/hardened-flannel:v0.26.7-build20250101",
    ]
    archives = {
        "rke2-images-core": core + (traefik if minor >= 36 else ingress_nginx),
        "rke2-images-canal": canal,
        "rke2-images-cilium": [
            "docker.io/rancher/mirrored-cilium-cilium:v1.17.3",
            "docker.io/rancher/mirrored-cilium-operator-generic:v1.17.3",
        ],
        "rke2-images-calico": [
            "docker.io/rancher/mirrored-calico-operator:v1.36.7",
            "docker.io/rancher/mirrored-calico-cni:v3.29.3",
        ],
        "rke2-images-flannel": ["docker.io/rancher/hardened-flannel:v0.26.7-build20250101"],
        "rke2-images-multus": ["docker.io/rancher/hardened-multus-cni:v4.2.0-build20250101"],
        "rke2-images-vsphere": ["docker.io/rancher/mirrored-cloud-provider-vsphere:v1.32.2"],
        "rke2-images-harvester": ["docker.io/rancher/harvester-cloud-provider:v0.2.9"],
    }
    archives["rke2-images-traefik" if minor < 36 else "rke2-images-ingress-nginx"] = (
        traefik if minor < 36 else ingress_nginx
    )
    archives["rke2-images"] = archives["rke2-images-core"] + canal  # the all-in-one archive: core and Canal
    return archives


def _tar_member(tar: tarfile.TarFile, name: str, data: bytes | None, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "root", "root"
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def standin_binary(version: str, arch: str) -> bytes:
    text = (HERE / "standin.py").read_text()
    return text.replace("@RKE2_VERSION@", version).replace("@RKE2_ARCH@", arch).encode()


def tarball(version: str, arch: str) -> bytes:
    """``rke2.linux-<arch>.tar.gz`` with the layout of a real release (unpacked into ``/usr/local``)."""
    entries: list[tuple[str, bytes | None, int]] = [
        ("bin/", None, 0o755),
        ("bin/rke2", standin_binary(version, arch), 0o755),
        ("bin/rke2-killall.sh", (FILES / "rke2-killall.sh").read_bytes(), 0o755),
        ("bin/rke2-uninstall.sh", (FILES / "rke2-uninstall.sh").read_bytes(), 0o755),
        ("lib/", None, 0o755),
        ("lib/systemd/", None, 0o755),
        ("lib/systemd/system/", None, 0o755),
        ("lib/systemd/system/rke2-agent.env", (FILES / "rke2-agent.env").read_bytes(), 0o644),
        ("lib/systemd/system/rke2-agent.service", (FILES / "rke2-agent.service").read_bytes(), 0o644),
        ("lib/systemd/system/rke2-server.env", (FILES / "rke2-server.env").read_bytes(), 0o644),
        ("lib/systemd/system/rke2-server.service", (FILES / "rke2-server.service").read_bytes(), 0o644),
        ("share/", None, 0o755),
        ("share/rke2/", None, 0o755),
        (
            "share/rke2/LICENSE.txt",
            b"SIMULATED: sandbox stand-in for RKE2 (GPL-3.0-or-later, org.platform); real RKE2 is Apache-2.0.\n",
            0o644,
        ),
        ("share/rke2/rke2-cis-sysctl.conf", (FILES / "rke2-cis-sysctl.conf").read_bytes(), 0o644),
    ]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data, mode in entries:
            _tar_member(tar, name, data, mode)
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def image_archive(name: str, arch: str, version: str, images: list[str]) -> bytes:
    note = (
        f"SIMULATED: placeholder for {name}.linux-{arch}.tar.zst of RKE2 {version} (sandbox).\n"
        "A real archive holds these container images for containerd to import; the stand-in imports nothing.\n"
    )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        _tar_member(tar, "SIMULATED.txt", note.encode(), 0o644)
        _tar_member(tar, "images.txt", ("\n".join(images) + "\n").encode(), 0o644)
    return zstd_frame(raw.getvalue())


def check(version: str, arch: str) -> None:
    if not VERSION_RE.fullmatch(version):
        raise BuildError(f"version {version!r} is not an RKE2 release name like v1.33.5+rke2r1")
    if arch not in ARCHES:
        raise BuildError(f"arch {arch!r} is not one of {', '.join(ARCHES)}")


def build(version: str, arch: str, out: Path) -> dict[str, str]:
    """Write the release's files into ``out``; returns {file name: sha256} of the checksummed ones."""
    check(version, arch)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        f"rke2.linux-{arch}.tar.gz": tarball(version, arch),
        f"rke2.linux-{arch}": standin_binary(version, arch),
    }
    for name, images in image_archives(version).items():
        files[f"{name}.linux-{arch}.tar.zst"] = image_archive(name, arch, version, images)
        files[f"{name}.linux-{arch}.txt"] = ("\n".join(images) + "\n").encode()
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    for name, data in files.items():
        (out / name).write_bytes(data)
    (out / f"sha256sum-{arch}.txt").write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()))
    (out / "install.sh").write_bytes((FILES / "install.sh").read_bytes())
    (out / "install.sh").chmod(0o755)
    return sums


def _sandbox_endpoint(url: str) -> None:
    """The emulator only: a loopback or private (sandbox VPC endpoint) address, never an AWS host name."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise BuildError(f"endpoint {url!r} is not a sandbox address (loopback or a VPC endpoint IP)") from None
        return
    if not (address.is_loopback or address.is_private):
        raise BuildError(f"endpoint {url!r} is not a sandbox address (loopback or a VPC endpoint IP)")


def upload(
    directory: Path, bucket: str, endpoint_url: str, prefix: str | None = None, region: str = "us-east-1", client=None
) -> list[str]:
    """Put every file of ``directory`` under ``<prefix>/`` (default ``rke2/<version>``) in the emulator's bucket.

    Returns the keys it wrote; an object already stored with the same bytes is left alone. The bucket is
    created when it does not exist (the sandbox's stand-in for the artifact bucket of a real account).
    """
    _sandbox_endpoint(endpoint_url)
    directory = Path(directory)
    names = sorted(p.name for p in directory.iterdir() if p.is_file())
    if not any(re.fullmatch(r"sha256sum-[a-z0-9]+\.txt", n) for n in names):
        raise BuildError(f"{directory} holds no sha256sum-<arch>.txt: build the artifacts first")
    if prefix is None:
        binary = next((directory / n for n in names if re.fullmatch(r"rke2\.linux-[a-z0-9]+", n)), None)
        found = re.search(r'VERSION = "([^"]+)"', binary.read_text()) if binary else None
        if not found:
            raise BuildError(f"cannot tell the version of the artifacts in {directory}; pass a prefix")
        prefix = f"rke2/{found.group(1)}"
    if client is None:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    _ensure_bucket(client, bucket)
    keys = []
    for name in names:
        key = f"{prefix.strip('/')}/{name}"
        body = (directory / name).read_bytes()
        if _stored_md5(client, bucket, key) == hashlib.md5(body).hexdigest():  # noqa: S324 - S3's ETag, not security
            continue  # already there, byte for byte: a rerun uploads (and reports) nothing
        client.put_object(Bucket=bucket, Key=key, Body=body)
        keys.append(key)
    return keys


def _ensure_bucket(client, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        client.create_bucket(Bucket=bucket)


def _stored_md5(client, bucket: str, key: str) -> str | None:
    """The ETag of a single-part, unencrypted object is its MD5; None when the object is missing."""
    from botocore.exceptions import ClientError

    try:
        return client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
