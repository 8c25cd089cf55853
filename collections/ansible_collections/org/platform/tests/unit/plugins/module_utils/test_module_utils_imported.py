# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nothing in plugins/module_utils is code that no plugin imports (dev tooling lives in devtools/)."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[4] / "plugins"
MODULE_UTILS = PLUGINS / "module_utils"
PREFIX = "ansible_collections.org.platform.plugins.module_utils"
# Plugin code waiting for its plugin, listed so the exception is explicit; the test below fails once one is
# imported, so the list cannot go stale. (The plan gate is now terraform_stacks's, through _terraform/gate.py.)
AWAITING_THEIR_PLUGIN: set[str] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(MODULE_UTILS).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PREFIX, *parts))


def _imports(path: Path) -> set[str]:
    """The module_utils modules a file imports (``from X import y`` counts X and X.y)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(PREFIX)}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_every_module_util_is_imported_by_a_plugin() -> None:
    utils = {_module_name(path): path for path in MODULE_UTILS.rglob("*.py")}
    plugin_files = [p for p in PLUGINS.rglob("*.py") if MODULE_UTILS not in p.parents]
    assert plugin_files, "no plugin found"
    reached: set[str] = set()
    frontier = [name for path in plugin_files for name in _imports(path) if name in utils]
    while frontier:
        name = frontier.pop()
        if name in reached:
            continue
        reached.add(name)
        # Importing a package module imports its package __init__ too.
        parent = name.rsplit(".", 1)[0]
        if parent in utils:
            frontier.append(parent)
        frontier += [dep for dep in _imports(utils[name]) if dep in utils]
    unused = {str(utils[name].relative_to(PLUGINS)) for name in set(utils) - reached}
    assert not unused - AWAITING_THEIR_PLUGIN, (
        f"module_utils files no plugin imports (move them to devtools/): {sorted(unused - AWAITING_THEIR_PLUGIN)}"
    )
    wired = AWAITING_THEIR_PLUGIN - unused
    assert not wired, f"now imported by a plugin, remove from AWAITING_THEIR_PLUGIN: {sorted(wired)}"
