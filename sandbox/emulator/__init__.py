"""The sandbox's AWS emulator: moto server plus the AWS rules our logic depends on.

moto alone is too forgiving for some of what we test (see ../shared/reference/teardown-cleanup.md):
the modules in ``sandbox.emulator.rules`` add those rules to moto's backends before the server starts.
Each rule module exposes ``install() -> None``; ``install_rules()`` loads them all in name order.
"""

from __future__ import annotations

import importlib
import pkgutil

from sandbox.emulator import rules as _rules_package


def install_rules() -> list[str]:
    """Import every module in sandbox.emulator.rules and call its install(); return their names."""
    installed = []
    for info in sorted(pkgutil.iter_modules(_rules_package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_rules_package.__name__}.{info.name}")
        module.install()
        installed.append(info.name)
    return installed
