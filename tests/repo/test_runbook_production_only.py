# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 10 item 1: the runbook (site.yml, destroy.yml, playbooks/) is production only.

The sandbox composes it one level up (sandbox/site.yml, sandbox/destroy.yml); no runbook file imports a
sandbox play, branches on the sandbox, or reads the sandbox's endpoints. The one place the word may appear is
the preflight's identity guard, which refuses the sandbox inventory's name or flag on a real environment.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sandbox.pytest_plugin import REPO_ROOT

RUNBOOK = [REPO_ROOT / "site.yml", REPO_ROOT / "destroy.yml", *sorted((REPO_ROOT / "playbooks").rglob("*.yml"))]
# (file, task name): refusals that protect real environments from the sandbox's name and flag.
IDENTITY_GUARD = {
    ("playbooks/preflight.yml", "Check an environment inventory was given"),
    ("playbooks/preflight.yml", "Refuse an environment that is not the inventory's own"),
}


def _without_identity_guard(path: Path) -> str:
    """The file's text with the identity guard's tasks cut out (each task runs to the next `- name:`)."""
    relative = path.relative_to(REPO_ROOT).as_posix()
    lines = path.read_text().splitlines()
    kept, skipping, indent = [], False, None
    for line in lines:
        match = re.match(r"^(\s*)- name: (.*)$", line)
        if match:
            skipping = (relative, match.group(2).strip()) in IDENTITY_GUARD
            indent = len(match.group(1))
        elif skipping and line.strip() and len(line) - len(line.lstrip()) <= (indent or 0):
            skipping = False
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def test_the_runbook_files_contain_no_sandbox_reference():
    assert len(RUNBOOK) > 5, RUNBOOK
    offenders = []
    for path in RUNBOOK:
        for line in _without_identity_guard(path).splitlines():
            if re.search(r"sandbox", line, re.IGNORECASE):
                offenders.append(f"{path.relative_to(REPO_ROOT)}: {line.strip()}")
    assert offenders == [], "sandbox code in the production runbook:\n" + "\n".join(offenders)
    assert not (REPO_ROOT / "playbooks" / "sandbox_network.yml").exists()


def test_no_runbook_play_imports_anything_outside_the_runbook():
    for path in RUNBOOK:
        document = yaml.safe_load(path.read_text())
        for play in document if isinstance(document, list) else []:  # playbooks/vars/*.yml are mappings
            target = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
            if target:
                resolved = (path.parent / target).resolve()
                assert resolved in RUNBOOK, f"{path.relative_to(REPO_ROOT)} imports {target}"


def test_the_identity_guard_is_still_there():
    # The exception above is narrow: the guard exists and still names the flag it refuses.
    text = (REPO_ROOT / "playbooks" / "preflight.yml").read_text()
    assert "Refuse an environment that is not the inventory's own" in text
    assert "platform_sandbox" in text


def test_the_sandbox_entry_points_compose_the_runbook():
    site = yaml.safe_load((REPO_ROOT / "sandbox" / "site.yml").read_text())
    destroy = yaml.safe_load((REPO_ROOT / "sandbox" / "destroy.yml").read_text())
    assert [p["ansible.builtin.import_playbook"] for p in site] == ["playbooks/seed.yml", "../site.yml"]
    # The teardown's own guard first (a refused teardown changes nothing), then the teardown's graceful phase on
    # the running cluster, then the seeded fleet goes (the twins of the compute stacks terminate no instance),
    # then the teardown runbook (which does not repeat the graceful phase), then the unseed.
    assert [p["ansible.builtin.import_playbook"] for p in destroy] == [
        "../playbooks/destroy_guard.yml",
        "../playbooks/teardown_graceful.yml",
        "playbooks/fleet.yml",
        "../destroy.yml",
        "playbooks/unseed.yml",
    ]
