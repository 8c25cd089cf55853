#!/usr/bin/env python3
"""Render the sandbox contract twins (terraform/sandbox/<stack>/main.tf) from terraform/stacks.yml.

python tools/render_twins.py           # write them
python tools/render_twins.py --check   # exit 1 and list the stale twins instead of writing
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "collections"), str(ROOT)]

from devtools.stack_twins import render_all  # noqa: E402


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
