# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m sandbox.rke2 {build,upload}: the sandbox's release-shaped RKE2 artifacts (see README.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sandbox.rke2.build import BuildError, build, upload


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.rke2")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="write the release artifacts into a directory")
    make.add_argument("--version", required=True, help="e.g. v1.33.5+rke2r1")
    make.add_argument("--arch", default="amd64")
    make.add_argument("--out", type=Path, required=True)
    put = sub.add_parser("upload", help="put built artifacts in the emulator's artifact bucket")
    put.add_argument("--dir", type=Path, required=True)
    put.add_argument("--bucket", required=True)
    put.add_argument("--endpoint-url", required=True, help="the emulator (loopback or a sandbox VPC endpoint)")
    put.add_argument("--prefix", help="key prefix (default rke2/<version>)")
    put.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            sums = build(args.version, args.arch, args.out)
            print("SIMULATED: release-shaped RKE2 artifacts (stand-in binary, placeholder images)")
            for name, digest in sums.items():
                print(f"{digest}  {args.out / name}")
        else:
            for key in upload(args.dir, args.bucket, args.endpoint_url, args.prefix, args.region):
                print(f"s3://{args.bucket}/{key}")
    except (BuildError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
