#!/usr/bin/env python3
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install the execution environment's pinned tools (awx/ee/tools.yml) while the image is built.

    install_tools.py tools.yml [--prefix /usr/local] [--only NAME ...]

Every file is downloaded to a private temporary directory and its SHA-256 compared with the pin before anything
is unpacked or installed; a tool without a pin, or a download that does not match it, stops the build with the
tool's name. Standard library and PyYAML only (ansible-core brings PyYAML into the image).
devtools/ee_tools.py reuses ``download`` and ``published_digest`` to write the pins.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

INSTALL_KINDS = ("awscli", "rpm", "binary", "zip", "packer-plugin")
CHUNK = 1 << 20
TIMEOUT_S = 300


class ToolError(Exception):
    """A tool cannot be installed as pinned; the message names it."""


def url_of(tool: Mapping[str, Any], key: str = "url") -> str:
    return str(tool[key]).replace("{version}", str(tool["version"]))


def load(path: Path) -> list[dict[str, Any]]:
    """The tools of a tools.yml, each checked for the keys its install kind needs."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tools = document.get("tools")
    if not isinstance(tools, list) or not tools:
        raise ToolError(f"{path}: no `tools:` list")
    names = set()
    for tool in tools:
        name = tool.get("name") if isinstance(tool, Mapping) else None
        missing = [key for key in ("name", "version", "url", "install") if not (tool or {}).get(key)]
        if missing:
            raise ToolError(f"{path}: tool {name or '?'} has no {', '.join(missing)}")
        if name in names:
            raise ToolError(f"{path}: tool {name} is listed twice")
        names.add(name)
        if tool["install"] not in INSTALL_KINDS:
            raise ToolError(
                f"{path}: tool {name}: install {tool['install']!r} is not one of {', '.join(INSTALL_KINDS)}"
            )
        if tool["install"] in ("zip", "packer-plugin") and not tool.get("binary"):
            raise ToolError(f"{path}: tool {name}: install {tool['install']} needs `binary` (the file in the zip)")
        if tool["install"] == "packer-plugin" and not tool.get("source"):
            raise ToolError(
                f"{path}: tool {name}: install packer-plugin needs `source` (e.g. github.com/hashicorp/amazon)"
            )
    return tools


def download(url: str, target: Path) -> str:
    """Fetch ``url`` into ``target`` (0600); the SHA-256 of what was written."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:  # noqa: S310 (https and file URLs from the pin file)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            while chunk := answer.read(CHUNK):
                digest.update(chunk)
                handle.write(chunk)
    return digest.hexdigest()


def published_digest(text: str, file_name: str) -> str:
    """The digest for ``file_name`` in a vendor checksum file: a SHA256SUMS list or one bare digest (dl.k8s.io)."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and len(lines[0]) == 1:
        return lines[0][0].lower()
    for fields in lines:
        if len(fields) == 2 and fields[1].lstrip("*") == file_name:
            return fields[0].lower()
    raise ToolError(f"the checksum file lists no {file_name}")


def fetch_verified(tool: Mapping[str, Any], work: Path) -> Path:
    """The tool's download, in ``work``, once its SHA-256 equals the pin."""
    pinned = str(tool.get("sha256") or "").lower()
    name = tool["name"]
    if len(pinned) != 64 or any(c not in "0123456789abcdef" for c in pinned):
        raise ToolError(
            f"{name} {tool['version']}: tools.yml pins no SHA-256 (sha256: {pinned!r}); run "
            "`python -m devtools.ee_tools --update` where the vendor's site is reachable, review the digest, commit it"
        )
    url = url_of(tool)
    target = work / (url.rstrip("/").rsplit("/", 1)[-1] or name)
    try:
        got = download(url, target)
    except OSError as exc:
        raise ToolError(f"{name} {tool['version']}: cannot download {url}: {exc}") from exc
    if got != pinned:
        target.unlink()
        raise ToolError(f"{name} {tool['version']}: {url} has SHA-256 {got}, tools.yml pins {pinned}: not installed")
    return target


def _install_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def _unzip(archive: Path, work: Path) -> Path:
    out = work / f"{archive.name}.d"
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.namelist():
            if member.startswith("/") or ".." in Path(member).parts:
                raise ToolError(f"{archive.name}: refuses the member {member!r} (outside the archive)")
        zipped.extractall(out)
    return out


def install(tool: Mapping[str, Any], prefix: Path, work: Path) -> str:
    """Download, verify and install one tool; a line saying what was installed where."""
    file = fetch_verified(tool, work)
    kind, name = tool["install"], tool["name"]
    bin_dir = prefix / "bin"
    if kind == "binary":
        _install_file(file, bin_dir / name)
        where = bin_dir / name
    elif kind == "zip":
        unpacked = _unzip(file, work)
        _install_file(unpacked / tool["binary"], bin_dir / Path(tool["binary"]).name)
        where = bin_dir / Path(tool["binary"]).name
    elif kind == "awscli":
        unpacked = _unzip(file, work)
        installer = unpacked / "aws" / "install"
        installer.chmod(0o755)
        (unpacked / "aws" / "dist" / "aws").chmod(0o755)
        subprocess.run(
            [str(installer), "--bin-dir", str(bin_dir), "--install-dir", str(prefix / "aws-cli")], check=True
        )
        where = bin_dir / "aws"
    elif kind == "rpm":
        subprocess.run(["dnf", "install", "-y", str(file)], check=True)
        where = Path("/usr/local/sessionmanagerplugin/bin") if name == "session-manager-plugin" else Path("(rpm)")
    else:  # packer-plugin
        unpacked = _unzip(file, work)
        plugin = unpacked / tool["binary"]
        plugin.chmod(0o755)
        subprocess.run(
            [str(bin_dir / "packer"), "plugins", "install", "--path", str(plugin), tool["source"]], check=True
        )
        where = Path(os.environ.get("PACKER_PLUGIN_PATH", "~/.config/packer/plugins"))
    return f"{name} {tool['version']}: sha256 verified, installed ({kind}) at {where}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tools_file", type=Path)
    parser.add_argument("--prefix", type=Path, default=Path("/usr/local"))
    parser.add_argument("--only", action="append", default=[], help="install only this tool (repeatable)")
    args = parser.parse_args(argv)
    try:
        tools = load(args.tools_file)
        unknown = sorted(set(args.only) - {tool["name"] for tool in tools})
        if unknown:
            raise ToolError(f"--only {', '.join(unknown)}: not in {args.tools_file}")
        chosen = [tool for tool in tools if not args.only or tool["name"] in args.only]
        with tempfile.TemporaryDirectory(prefix="ee-tools-") as work:
            for tool in chosen:
                print(install(tool, args.prefix, Path(work)), flush=True)
    except (ToolError, subprocess.CalledProcessError, zipfile.BadZipFile, KeyError) as exc:
        print(f"install_tools: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
