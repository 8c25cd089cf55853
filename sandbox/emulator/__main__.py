"""python -m sandbox.emulator --host 127.0.0.1 --port N: moto server with the project's AWS rules."""

from __future__ import annotations

import argparse
import sys

from sandbox.emulator import install_rules, serialize_requests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error(f"the emulator only listens on loopback, not {args.host!r}")
    serialize_requests()
    installed = install_rules()
    print(f"org.platform AWS emulator: rules installed: {', '.join(installed) or 'none'}", flush=True)
    from moto.server import main as moto_main

    moto_main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main(sys.argv[1:])
