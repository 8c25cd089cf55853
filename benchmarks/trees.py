"""This tree against an earlier commit, on one private sandbox: what benchmarks.converge and .teardown share."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.services import REPO_ROOT, Sandbox


@contextmanager
def baseline_and_sandbox(baseline: str, prefix: str) -> Iterator[tuple[Path, dict[str, Path]]]:
    """A running private sandbox (AWS emulator + MariaDB, no node service) and the two trees: ``baseline`` checked
    out as a detached ``git worktree`` in a temporary directory, and this one. Yields (the sandbox's state dir,
    {"baseline": tree, "this tree": REPO_ROOT}); every exit path stops the sandbox and removes the worktree."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        state_dir, baseline_tree = Path(scratch) / "sandbox", Path(scratch) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(baseline_tree), baseline], cwd=REPO_ROOT, check=True
        )
        sandbox = Sandbox(state_dir)
        try:
            sandbox.up()
            yield state_dir, {"baseline": baseline_tree, "this tree": REPO_ROOT}
        finally:
            sandbox.down(purge=True)
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline_tree)], cwd=REPO_ROOT, check=False)


def alternating(trees: dict[str, Path], round_number: int) -> list[str]:
    """The trees' labels in this round's order: which goes first alternates."""
    return list(trees) if round_number % 2 == 0 else list(reversed(trees))
