# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator rules patch moto internals, so they are tied to one moto release: fail loudly on any other.

sandbox/emulator/rules/*.py (and sandbox/emulator/__init__.py's request serialisation) replace methods
of moto's backends, responses and WSGI dispatcher (``SecurityGroupBackend``, ``AmisResponse``,
``Table.describe``, ``DomainDispatcherApplication.__call__``, ...). A moto upgrade can rename or reshape
any of them without an import error, and a rule would then silently stop applying. When moto moves:
re-check every file this test names against the new moto source, run the emulator rule tests and the
sandbox integration tests, then set ``RULES_WRITTEN_FOR`` to the new version.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from sandbox.services import REPO_ROOT

# The moto release every emulator rule was written and verified against.
RULES_WRITTEN_FOR = "5.2.5"

EMULATOR = REPO_ROOT / "sandbox" / "emulator"
LOCK = REPO_ROOT / "requirements" / "sandbox.txt"
PIN_IN = REPO_ROOT / "requirements" / "sandbox.in"
_MOTO_IMPORT = re.compile(r"^\s*(from moto[\w.]* import|import moto\b)", re.MULTILINE)


def files_patching_moto() -> list[str]:
    """Every emulator file that imports moto internals, relative to the repository."""
    paths = sorted([*EMULATOR.glob("*.py"), *(EMULATOR / "rules").glob("*.py")])
    return [str(path.relative_to(REPO_ROOT)) for path in paths if _MOTO_IMPORT.search(path.read_text())]


def _recheck_message(found: str, where: str) -> str:
    files = "\n  ".join(files_patching_moto())
    return (
        f"moto {found} ({where}) is not {RULES_WRITTEN_FOR}, the release the emulator rules were written "
        f"for. They patch moto internals; re-check each of these against moto {found}, run "
        f"sandbox/tests and the sandbox integration tests, then update RULES_WRITTEN_FOR in "
        f"{Path(__file__).name}:\n  {files}"
    )


def test_the_rule_files_are_found() -> None:
    files = files_patching_moto()
    for expected in ("sandbox/emulator/rules/ec2_dependencies.py", "sandbox/emulator/rules/images.py"):
        assert expected in files
    assert "sandbox/emulator/rules/__init__.py" not in files  # mentions moto in prose only


def test_installed_moto_is_the_one_the_rules_were_written_for() -> None:
    installed = importlib.metadata.version("moto")
    assert installed == RULES_WRITTEN_FOR, _recheck_message(installed, "installed")


def test_the_lock_and_the_input_pin_that_moto() -> None:
    locked = re.search(r"^moto==([\w.]+)", LOCK.read_text(), re.MULTILINE)
    assert locked, f"{LOCK.relative_to(REPO_ROOT)} does not pin moto with =="
    assert locked.group(1) == RULES_WRITTEN_FOR, _recheck_message(locked.group(1), str(LOCK.relative_to(REPO_ROOT)))
    pinned = re.search(r"^moto(\[[\w,]+\])?==([\w.]+)", PIN_IN.read_text(), re.MULTILINE)
    assert pinned, f"{PIN_IN.relative_to(REPO_ROOT)} must pin moto with == (the rules patch its internals)"
    assert pinned.group(2) == RULES_WRITTEN_FOR, _recheck_message(pinned.group(2), str(PIN_IN.relative_to(REPO_ROOT)))


def test_the_message_names_the_files_to_recheck() -> None:
    message = _recheck_message("9.9.9", "installed")
    assert "moto 9.9.9 (installed) is not 5.2.5" in message
    assert "sandbox/emulator/rules/dynamodb.py" in message
    assert "sandbox/emulator/__init__.py" in message
