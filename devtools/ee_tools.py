# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pin the execution environment's tools: write each tool's SHA-256 into awx/ee/tools.yml.

    .venv/bin/python -m devtools.ee_tools --update [--tools awx/ee/tools.yml] [--only NAME ...]

Run it where the vendors' sites are reachable (this repository's CI machine reaches none of them), after changing a
version. Each file is downloaded (awx/ee/install_tools.py's ``download``); where the tool has a ``checksum_url``
(HashiCorp's SHA256SUMS, dl.k8s.io's .sha256) a file whose digest differs from the vendor's is refused and nothing
is written. Only the ``sha256:`` line of each updated tool changes; comments and order stay. Review the diff.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_FILE = REPO_ROOT / "awx" / "ee" / "tools.yml"


@cache
def installer() -> ModuleType:
    """awx/ee/install_tools.py (a script shipped into the image, not a package), loaded by path."""
    spec = importlib.util.spec_from_file_location(
        "_org_platform_ee_install_tools", REPO_ROOT / "awx/ee/install_tools.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def digest_of(tool: Mapping[str, Any], work: Path) -> str:
    """The SHA-256 of the tool's download, checked against the vendor's published one when there is one."""
    tools = installer()
    url = tools.url_of(tool)
    file_name = url.rstrip("/").rsplit("/", 1)[-1]
    got = tools.download(url, work / file_name)
    if tool.get("checksum_url"):
        checksum_file = work / f"{file_name}.checksums"
        tools.download(tools.url_of(tool, "checksum_url"), checksum_file)
        published = tools.published_digest(checksum_file.read_text(encoding="utf-8"), file_name)
        if got != published:
            raise tools.ToolError(
                f"{tool['name']} {tool['version']}: {url} has SHA-256 {got}, the vendor publishes {published}"
            )
    return got


def set_digests(text: str, digests: Mapping[str, str]) -> str:
    """tools.yml's text with the ``sha256:`` line of each named tool replaced; every other line kept."""
    lines = text.splitlines(keepends=True)
    current = None
    seen = set()
    for index, line in enumerate(lines):
        named = re.match(r"\s*- name:\s*(\S+)\s*$", line)
        if named:
            current = named.group(1).strip("\"'")
            continue
        pin = re.match(r"(\s*)sha256:", line)
        if pin and current in digests:
            lines[index] = f'{pin.group(1)}sha256: "{digests[current]}"\n'
            seen.add(current)
    missing = sorted(set(digests) - seen)
    if missing:
        raise ValueError(f"tools.yml has no sha256 line for {', '.join(missing)}")
    return "".join(lines)


def update(tools_file: Path, only: Sequence[str] = ()) -> dict[str, str]:
    """Download every (or every named) tool, verify it, and write the digests; the digests written."""
    tools = installer()
    listed = tools.load(tools_file)
    unknown = sorted(set(only) - {tool["name"] for tool in listed})
    if unknown:
        raise tools.ToolError(f"--only {', '.join(unknown)}: not in {tools_file}")
    digests = {}
    with tempfile.TemporaryDirectory(prefix="ee-pins-") as work:
        for tool in listed:
            if not only or tool["name"] in only:
                digests[tool["name"]] = digest_of(tool, Path(work))
    tools_file.write_text(set_digests(tools_file.read_text(encoding="utf-8"), digests), encoding="utf-8")
    return digests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", required=True, help="download, verify, write the digests")
    parser.add_argument("--tools", type=Path, default=TOOLS_FILE)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        for name, digest in update(args.tools, args.only).items():
            print(f"{name}: {digest}")
    except (OSError, ValueError, installer().ToolError) as exc:
        print(f"ee_tools: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
