# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml and its pinned tools (awx/ee/), checked offline.

`ansible-builder create` renders the build context here (it needs no container engine); `ansible-builder build`
needs podman or docker and the vendors' download sites, and this machine has neither, so the image is never built
here (the skipped test says so). The tools' installer and the pinning tool are exercised on file:// downloads.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from devtools import ee_tools

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILDER = REPO_ROOT / ".venv" / "bin" / "ansible-builder"
COLLECTION = REPO_ROOT / "collections" / "ansible_collections" / "org" / "platform"
tools = ee_tools.installer()


def create(context: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BUILDER), "create", "-f", "execution-environment.yml", "--context", str(context)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def test_ansible_builder_renders_the_context_offline_and_reproducibly(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    for context in (first, second):
        made = create(context)
        assert made.returncode == 0, made.stdout + made.stderr
    assert tree_digest(first) == tree_digest(second), "two renders of the same files differ"
    build = first / "_build"
    recipe = (first / "Dockerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in recipe
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.3"' in recipe
    assert 'ARG PYCMD="/usr/bin/python3.11"' in recipe
    install = "RUN /usr/bin/python3.11 /tmp/org-platform-tools/install_tools.py /tmp/org-platform-tools/tools.yml"
    assert install in recipe
    # The image's Python requirements are the controller's pins; the tools and their installer go in as they are.
    assert (build / "requirements.txt").read_text() == (REPO_ROOT / "requirements/runtime.in").read_text()
    assert (build / "bindep.txt").read_text() == (REPO_ROOT / "awx/ee/bindep.txt").read_text()
    assert (build / "tools/tools.yml").read_bytes() == (REPO_ROOT / "awx/ee/tools.yml").read_bytes()
    assert (build / "tools/install_tools.py").read_bytes() == (REPO_ROOT / "awx/ee/install_tools.py").read_bytes()


def test_the_image_carries_what_the_collection_declares():
    """The collection's bindep lines and Python requirements are in the image's (it is not installed by Galaxy
    there, so its meta/execution-environment.yml is not read)."""
    ours = {line for line in (REPO_ROOT / "awx/ee/bindep.txt").read_text().splitlines() if not line.startswith("#")}
    declared = [line for line in (COLLECTION / "bindep.txt").read_text().splitlines() if line and line[0] != "#"]
    assert declared
    assert set(declared) <= ours
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (REPO_ROOT / "requirements/runtime.in").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for line in (COLLECTION / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name = line.split(">=")[0].strip().lower()
            assert name in pinned | {"botocore", "pyyaml"}, f"{name} is not pinned in requirements/runtime.in"


def test_every_tool_is_listed_with_what_its_install_needs():
    listed = {tool["name"]: tool for tool in tools.load(REPO_ROOT / "awx/ee/tools.yml")}
    assert sorted(listed) == ["awscli", "kubectl", "packer", "packer-plugin-amazon", "session-manager-plugin"]
    assert all(tool["url"].startswith("https://") for tool in listed.values())
    rke2 = yaml.safe_load((COLLECTION / "roles/rke2/defaults/main.yml").read_text())["rke2_version"]
    assert listed["kubectl"]["version"].rsplit(".", 1)[0] == rke2.rsplit(".", 1)[0], "kubectl and RKE2 minors differ"


def tool_file(tmp_path: Path, name: str, payload: bytes, zip_member: str | None = None) -> tuple[str, str]:
    """A download served from a file:// URL: (URL template with {version}, its SHA-256)."""
    target = tmp_path / "vendor" / f"{name}-1.0"
    target.parent.mkdir(exist_ok=True)
    if zip_member:
        with zipfile.ZipFile(target, "w") as zipped:
            zipped.writestr(zip_member, payload)
    else:
        target.write_bytes(payload)
    return target.as_uri().replace("1.0", "{version}"), hashlib.sha256(target.read_bytes()).hexdigest()


def write_tools(path: Path, entries: list[dict]) -> Path:
    path.write_text("# pins\ntools:\n" + "".join(_entry(e) for e in entries))
    return path


def _entry(entry: dict) -> str:
    first, *rest = entry.items()
    return f"  - {first[0]}: {first[1]}\n" + "".join(f'    {k}: "{v}"\n' for k, v in rest)


def test_the_installer_installs_only_what_matches_its_pin(tmp_path, capsys):
    kubectl_url, kubectl_sha = tool_file(tmp_path, "kubectl", b"#!/bin/sh\necho kubectl\n")
    packer_url, packer_sha = tool_file(tmp_path, "packer", b"#!/bin/sh\necho packer\n", zip_member="packer")
    entries = [
        {"name": "kubectl", "version": "1.0", "url": kubectl_url, "install": "binary", "sha256": kubectl_sha},
        {"name": "packer", "version": "1.0", "url": packer_url, "install": "zip", "binary": "packer", "sha256": packer_sha},
    ]  # fmt: skip
    pins = write_tools(tmp_path / "tools.yml", entries)
    prefix = tmp_path / "prefix"
    assert tools.main([str(pins), "--prefix", str(prefix)]) == 0
    assert (prefix / "bin/kubectl").read_bytes() == b"#!/bin/sh\necho kubectl\n"
    assert (prefix / "bin/packer").stat().st_mode & 0o777 == 0o755
    assert "kubectl 1.0: sha256 verified, installed (binary)" in capsys.readouterr().out

    # A download that is not the pinned one, and a tool with no pin: refused by name, nothing installed.
    entries[0]["sha256"] = "0" * 64
    shutil.rmtree(prefix)
    assert tools.main([str(write_tools(pins, entries)), "--prefix", str(prefix)]) == 1
    error = capsys.readouterr().err
    assert (
        f"kubectl 1.0: {kubectl_url.replace('{version}', '1.0')} has SHA-256 {kubectl_sha}, tools.yml pins {'0' * 64}"
        in error
    )
    assert not (prefix / "bin/kubectl").exists()
    entries[0]["sha256"] = ""
    assert tools.main([str(write_tools(pins, entries)), "--prefix", str(prefix), "--only", "kubectl"]) == 1
    assert "kubectl 1.0: tools.yml pins no SHA-256" in capsys.readouterr().err
    assert tools.main([str(pins), "--only", "kubeclt"]) == 1
    assert "--only kubeclt: not in" in capsys.readouterr().err


def test_a_zip_member_outside_the_archive_is_refused(tmp_path):
    url, sha = tool_file(tmp_path, "packer", b"x", zip_member="../../etc/evil")
    tool = {"name": "packer", "version": "1.0", "url": url, "install": "zip", "binary": "packer", "sha256": sha}
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(tools.ToolError, match=re.escape("refuses the member '../../etc/evil'")):
        tools.install(tool, tmp_path / "prefix", work)


def test_published_checksums_are_read_in_both_vendor_formats():
    sums = "aa" * 32 + "  packer_1.0_linux_amd64.zip\n" + "bb" * 32 + "  packer_1.0_darwin_arm64.zip\n"
    assert tools.published_digest(sums, "packer_1.0_linux_amd64.zip") == "aa" * 32
    assert tools.published_digest("CC" * 32 + "\n", "kubectl") == "cc" * 32
    with pytest.raises(tools.ToolError, match=re.escape("lists no packer_1.0_windows")):
        tools.published_digest(sums, "packer_1.0_windows")


def test_pinning_writes_only_the_digests_and_refuses_a_vendor_mismatch(tmp_path):
    url, sha = tool_file(tmp_path, "kubectl", b"kubectl binary")
    checksums = tmp_path / "vendor" / "kubectl-1.0.sha256"
    checksums.write_text(sha + "\n")
    entries = [{"name": "kubectl", "version": "1.0", "url": url, "install": "binary", "sha256": ""}]
    pins = write_tools(tmp_path / "tools.yml", entries)
    pins.write_text(
        pins.read_text().replace(
            '    install: "binary"\n',
            f'    checksum_url: "{checksums.as_uri().replace("1.0", "{version}")}"\n    install: "binary"\n',
        )
    )
    before = pins.read_text()
    assert ee_tools.main(["--update", "--tools", str(pins)]) == 0
    after = pins.read_text()
    assert after == before.replace('sha256: ""', f'sha256: "{sha}"')
    checksums.write_text("dd" * 32 + "\n")
    assert ee_tools.main(["--update", "--tools", str(pins)]) == 1
    assert pins.read_text() == after, "a mismatch wrote a digest"


def test_the_image_builds(tmp_path):
    """The real build, where it can run: a container engine, and every tool pinned."""
    engine = shutil.which("podman") or shutil.which("docker")
    unpinned = [tool["name"] for tool in tools.load(REPO_ROOT / "awx/ee/tools.yml") if not tool.get("sha256")]
    if not engine or unpinned:
        pytest.skip(
            "ansible-builder build not run: "
            + ("no podman or docker on this machine; " if not engine else "")
            + (f"awx/ee/tools.yml pins no digest for {', '.join(unpinned)} " if unpinned else "")
            + "(the build also needs the vendors' download sites; `python -m devtools.ee_tools --update` pins online)"
        )
    built = subprocess.run(
        [str(BUILDER), "build", "-f", "execution-environment.yml", "--context", str(tmp_path / "context"),
         "--container-runtime", Path(engine).name, "-t", "org-platform-ee:test"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
