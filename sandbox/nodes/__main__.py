"""python -m sandbox.nodes {image,serve,cleanup}: the sandbox nodes (see sandbox/nodes/__init__.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("image", "serve", "cleanup"):
        print("usage: python -m sandbox.nodes {image | serve ARGS | cleanup STATE_DIR}", file=sys.stderr)
        return 2
    if argv[0] == "image":
        from sandbox.nodes.image import ensure_image

        print(ensure_image())
        return 0
    from sandbox.nodes import service

    if argv[0] == "serve":
        return service.main(argv[1:])
    if len(argv) != 2:
        print("usage: python -m sandbox.nodes cleanup STATE_DIR", file=sys.stderr)
        return 2
    print(json.dumps(service.cleanup(Path(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
