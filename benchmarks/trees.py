"""This tree against an earlier commit, on one private sandbox: what benchmarks.converge and .teardown share."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import ssm
from sandbox.services import REPO_ROOT, Sandbox

VENV_BIN = Path(sys.executable).parent


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


def run_playbook(tree: Path, state_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    """``ansible-playbook <args> -i inventories/sandbox`` in ``tree`` with its ansible.cfg, against the sandbox of
    ``state_dir`` (dummy credentials); (wall seconds, stdout). A failed run stops the benchmark."""
    run_env = (
        os.environ
        | ssm.DUMMY
        | {
            "ORG_PLATFORM_SANDBOX_DIR": str(state_dir),
            "ANSIBLE_CONFIG": str(tree / "ansible.cfg"),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        | (env or {})
    )
    run_env.pop("AWS_ENDPOINT_URL", None)
    argv = [str(VENV_BIN / "ansible-playbook"), *args, "-i", "inventories/sandbox"]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=tree, env=run_env, capture_output=True, text=True, timeout=1800, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"{tree}: {' '.join(args)} failed (rc {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return elapsed, proc.stdout
