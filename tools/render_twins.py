#!/usr/bin/env python3
"""Render the sandbox contract twins (terraform/sandbox/<stack>/main.tf{,.json}) from terraform/stacks.yml.

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

from devtools.stack_twins import TWIN_FILES, render_all  # noqa: E402


def stale_twins(contract_file: Path, twins_dir: Path) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = render_all(contract_file, Path(tmp))
        stale = []
        for directory in fresh:
            current = twins_dir / directory.name
            present = sorted(p.name for p in current.iterdir() if p.is_file()) if current.is_dir() else []
            if present != sorted(TWIN_FILES) or any(
                (current / name).read_text() != (directory / name).read_text() for name in TWIN_FILES
            ):
                stale.append(directory.name)
        known = {p.name for p in fresh}
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
    for directory in render_all(args.contract, args.dest):
        for name in TWIN_FILES:
            print(f"wrote {(directory / name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
