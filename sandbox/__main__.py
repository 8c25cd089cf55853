"""python -m sandbox {up,down,status,endpoints} [--state-dir DIR] [--nodes] [--purge]"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sandbox.services import Sandbox, SandboxError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "status", "endpoints"])
    parser.add_argument("--state-dir", type=Path, help="default: $ORG_PLATFORM_SANDBOX_DIR or <repo>/.sandbox")
    parser.add_argument(
        "--nodes", action="store_true", help="with up: also start the node service (EC2 instances become machines)"
    )
    parser.add_argument("--purge", action="store_true", help="with down: also remove the state directory")
    args = parser.parse_args(argv)
    sandbox = Sandbox(args.state_dir, nodes=args.nodes)
    try:
        if args.action == "up":
            result = sandbox.up()
            for name, endpoint in result["endpoints"].items():
                if isinstance(endpoint, dict):
                    where = (
                        endpoint.get("endpoint_url")
                        or endpoint.get("state_dir")
                        or f"{endpoint.get('host')}:{endpoint.get('port')}"
                    )
                    state = "started" if name in result["started"] else "already running"
                    print(f"sandbox {name:<5} {state:<16} {where}")
            print(f"sandbox endpoints -> {sandbox.endpoints_file}")
        elif args.action == "down":
            result = sandbox.down(purge=args.purge)
            print(f"sandbox stopped: {', '.join(result['stopped']) or 'nothing was running'}")
            if args.purge:
                print(f"sandbox state removed: {sandbox.state_dir}")
        elif args.action == "status":
            print(json.dumps(sandbox.status(), indent=2))
        else:
            print(json.dumps(sandbox.endpoints(), indent=2))
    except SandboxError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
