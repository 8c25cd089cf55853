# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run log: one plain-text, redacted file per playbook run under logs/global (SPEC M10 / INFRA-004)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: run_log
type: notification
short_description: One plain-text, redacted record of every playbook run under C(logs/global)
version_added: 0.1.0
description:
  - Writes one file per C(ansible-playbook) run, C(<log_dir>/<UTC stamp>-<run id>_<playbook>_<env>.log), named by
    the collection's one log rule (C(plugins/module_utils/_runlog.py)); files 0600, directories 0700, no colour
    codes. The console keeps its usual callback; at the end of the run the path of the run log is printed.
  - "The header: user, host, playbook and its command line (extra-vars values masked), inventory, environment
    (the C(platform_env) variable, else the inventory's name), check/diff mode, git revision and dirty flag of the
    repository, collection version."
  - "Level C(milestones) (the default) writes what an operator reads: each play's start and end; for
    C(org.platform.terraform_stacks) one line per stack (action, result, counts, duration, its C(logs/terraform)
    file); for C(org.platform.cluster_cleanup) the phases with their seconds, the counts and the audit file; the
    C(org.platform.golden_ami) decision; the C(org.platform.shared_rds_services) services; each RKE2 rollout
    step (C(org.platform.rke2_node) actions per node, C(org.platform.rke2_wait) readiness); every
    C(ansible.builtin.assert) as a guard decision (passed or refused); then a recap per host, the outcome and
    the duration. Level C(tasks) adds one line per task result:
    C(<timestamp> <LEVEL> <host> <role : task> [stack=...] <short message>)."
  - "Levels: ok and changed are C(OK); ok with warnings or deprecations, a failure with C(ignore_errors) or in a
    block with a C(rescue), a retry, and a skip for any reason other than a false C(when) are C(WARN); failed
    and unreachable are C(ERR). A skip because C(when) was false is C(OK)."
  - "Redaction by value, on every line: values of extra vars, inventory and play variables whose names look
    secret (C(*password*), C(*token*), C(*secret*), C(*private_key*), C(*api_key*), C(*credential*)) and every
    vault-encrypted value; values of secret-named keys at the top of any result and in the C(ansible_facts) it
    sets (C(set_fact), C(include_vars)); for C(no_log) tasks the secret-named arguments, the scalar values of
    C(set_fact) and of loop items (structures count by their secret-named keys), and the output (C(stdout),
    C(stderr), C(content), ...) and secret-named keys of the registered result; values of module parameters
    that came back as C(VALUE_SPECIFIED_IN_NO_LOG_PARAMETER) (except C(ssm_parameter)'s C(value) of a type other
    than C(SecureString)); plus the known secret shapes of
    C(_runlog.Redactor) (AWS secret keys, passwords in URLs, RKE2 C(K10...) tokens, bearer tokens, private
    keys). Values shorter than 4 characters are not masked."
  - A log directory that cannot be written (read-only, full, not a directory) gives one warning on the console
    and never fails the play. Retention keeps the newest O(retention) runs and never deletes a file of the
    current UTC day.
  - With an upload target, the run log and this run's C(logs/terraform) and audit files are uploaded at the end
    of the run with SSE-KMS (boto3, the usual AWS environment); a failed upload is one warning.
requirements:
  - enabled with C(callbacks_enabled = org.platform.run_log) in C(ansible.cfg)
  - boto3, only for O(upload)
options:
  log_dir:
    description:
      - Directory of the run logs. A relative path is relative to the directory of the C(ansible.cfg) in use
        (the current directory when there is none).
    type: str
    default: logs/global
    env:
      - name: ORG_PLATFORM_RUN_LOG_DIR
    ini:
      - section: callback_run_log
        key: log_dir
  level:
    description: C(milestones) writes the checkpoints only; C(tasks) adds one line per task result.
    type: str
    choices: [milestones, tasks]
    default: milestones
    env:
      - name: ORG_PLATFORM_RUN_LOG_LEVEL
    ini:
      - section: callback_run_log
        key: level
  retention:
    description: How many runs to keep in O(log_dir) (files of the current UTC day are always kept); 0 keeps all.
    type: int
    default: 100
    env:
      - name: ORG_PLATFORM_RUN_LOG_RETENTION
    ini:
      - section: callback_run_log
        key: retention
  upload:
    description:
      - C(s3://bucket/prefix) to upload the run log and this run's Terraform and audit files to at the end of the
        run (keys C(<prefix>/global/...), C(<prefix>/terraform/...), C(<prefix>/audit/...)); empty for none.
      - The variable C(run_log_upload) (inventory, play or extra vars) overrides it.
    type: str
    default: ""
    env:
      - name: ORG_PLATFORM_RUN_LOG_UPLOAD
    ini:
      - section: callback_run_log
        key: upload
  upload_kms_key_id:
    description: KMS key for the uploads' SSE-KMS; empty uses the bucket's AWS-managed key (C(aws:kms)).
    type: str
    default: ""
    env:
      - name: ORG_PLATFORM_RUN_LOG_UPLOAD_KMS_KEY_ID
    ini:
      - section: callback_run_log
        key: upload_kms_key_id
"""

import contextlib
import functools
import getpass
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible_collections.org.platform.plugins.module_utils._runlog import (
    MASK,
    Redactor,
    RunLogError,
    create_log_file,
    line_stamp,
    looks_secret_name,
    named_secret_values,
    parse_log_name,
    prune,
    scalar_strings,
    upload_files,
)

try:
    from ansible.parsing.vault import EncryptedString
except ImportError:  # pragma: no cover - ansible-core < 2.19
    EncryptedString = ()  # type: ignore[assignment,misc]

_WRITING_LOOKUP = re.compile(r"\b(lookup|query|q)\(\s*['\"](ansible\.(builtin|legacy)\.)?password['\"]")
NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
MESSAGE_LIMIT = 300
COLLECTION_ROOT = Path(__file__).resolve().parents[2]
# What a no_log task's registered result holds as its output (command, slurp, uri, ...): secret as a whole.
_OUTPUT_KEYS = frozenset({"stdout", "stderr", "stdout_lines", "stderr_lines", "content", "secret", "value", "json"})


def registered_values(value: Any) -> list[Any]:
    """The secret part of a no_log task's registered result: its output and every secret-named key.

    Loop results (``results``) count item by item. Bookkeeping, names, tags and ids of what the task touched are
    left alone: masking them everywhere would blank out the log's ordinary words.
    """
    if not isinstance(value, Mapping):
        return []
    found: list[Any] = list(named_secret_values(value))
    for key, item in value.items():
        if key in _OUTPUT_KEYS:
            # text output counts whole; a structure (secretsmanager's ``secret`` metadata, a uri ``json``
            # body) by its secret-named keys
            found += quiet_values([item])
        elif key == "results" and isinstance(item, list):
            for element in item:
                found += registered_values(element)
                if isinstance(element, Mapping) and not isinstance(element.get("item"), (Mapping, list)):
                    found += scalar_strings(element.get("item"))
    return found


def _public_no_log_parameter(action: str, key: str, args: Mapping[str, Any]) -> bool:
    """A parameter a module always declares no_log although its value is public by a sibling parameter.

    ``ssm_parameter``'s ``value`` is no_log for every type; only a ``SecureString`` holds a secret (an AMI id or a
    VPC id published as a ``String`` would otherwise be masked in the whole log).
    """
    if action == "ssm_parameter" and key == "value":
        return str(args.get("string_type") or "String") != "SecureString"
    return False


def quiet_values(value: Any) -> list[str]:
    """The values of a no_log ``set_fact`` (a mapping of facts) or loop (a list of items).

    A fact or item that is a scalar counts as a whole; a structure counts by its secret-named keys.
    """
    if isinstance(value, Mapping):
        found = []
        for key, item in value.items():
            if looks_secret_name(key) or not isinstance(item, (Mapping, list, tuple)):
                found += scalar_strings(item)
            else:
                found += named_secret_values(item)
        return found
    if isinstance(value, (list, tuple)):  # loop items: a mapping item counts by its secret-named keys
        return [
            s
            for item in value
            for s in (named_secret_values(item) if isinstance(item, Mapping) else quiet_values(item))
        ]
    return scalar_strings(value)


# ----------------------------------------------------------------------------------------------------------------
# Pure helpers (unit-tested without a playbook)


def classify(status: str, result: Mapping[str, Any], ignore_errors: bool = False, rescued: bool = False) -> str:
    """OK / WARN / ERR for a task result (see DOCUMENTATION for the mapping)."""
    if status in ("failed", "unreachable", "async_failed"):
        if status == "failed" and (ignore_errors or rescued):
            return "WARN"
        return "ERR"
    if status == "retry":
        return "WARN"
    if status == "skipped":
        reason = str(result.get("skip_reason") or "")
        return "OK" if not reason or reason.startswith("Conditional result was False") else "WARN"
    if result.get("warnings") or result.get("deprecations"):
        return "WARN"
    return "OK"


def _clip(text: Any, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_message(status: str, result: Mapping[str, Any], ignore_errors: bool = False, rescued: bool = False) -> str:
    """One short, human line for a result: what happened and, for failures, why."""
    if status == "skipped":
        return _clip(f"skipped: {result.get('skip_reason') or 'skipped'}")
    if status == "unreachable":
        return _clip(f"unreachable: {result.get('msg') or ''}")
    if status in ("failed", "async_failed"):
        why = result.get("msg") or next(iter(str(result.get("stderr") or "").strip().splitlines()), "") or "failed"
        note = " (ignored)" if ignore_errors else " (rescued)" if rescued else ""
        return _clip(f"failed{note}: {why}")
    if status == "retry":
        return _clip(f"retrying ({result.get('attempts', '?')}/{result.get('retries', '?')})")
    word = "changed" if result.get("changed") else "ok"
    if result.get("censored"):
        return f"{word} (no_log)"
    extra = result.get("msg")
    warnings = result.get("warnings") or []
    text = f"{word}: {extra}" if extra and not isinstance(extra, (dict, list)) else word
    if warnings:
        text += f" warning: {warnings[0]}"
    return _clip(text)


def _counts(counts: Mapping[str, Any] | None) -> str:
    pairs = [f"{key}:{value}" for key, value in sorted((counts or {}).items()) if value]
    return ",".join(pairs) or "none"


def milestone_lines(action: str, status: str, result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(level, stack, message)`` milestones read from the results of the collection's modules, by module name."""
    short = action.rsplit(".", 1)[-1]
    lines: list[tuple[str, str, str]] = []
    if result.get("censored"):
        return lines
    if short == "terraform_stacks" and action.startswith(("org.platform.", "terraform_stacks")):
        for stack in result.get("stacks") or []:
            outcome = stack.get("status", "")
            level = "ERR" if outcome == "failed" else "WARN" if outcome == "skipped" else "OK"
            logs = stack.get("log_files") or []
            text = (
                f"action={stack.get('action', '')} result={outcome} counts={_counts(stack.get('counts'))} "
                f"duration={float(stack.get('duration_s') or 0):.1f}s log={logs[-1] if logs else '-'}"
            )
            if stack.get("simulated"):
                text += " simulated=true"
            if stack.get("error"):
                text += f" error={_clip(stack['error'], 160)}"
            if stack.get("lock"):
                text += f" lock_holder={_clip((stack['lock'] or {}).get('Who', '?'), 80)}"
            lines.append((level, str(stack.get("name", "?")), text))
    elif short == "cluster_cleanup" and action.startswith(("org.platform.", "cluster_cleanup")):
        stats = result.get("stats") or {}
        deleted = result.get("deleted") or {}
        phases = " ".join(f"{name}={secs}s" for name, secs in (stats.get("phase_seconds") or {}).items()) or "none"
        blockers = result.get("blockers") or []
        level = "ERR" if status == "failed" else "WARN" if blockers or result.get("completed") is False else "OK"
        counts = ",".join(f"{kind}:{len(ids)}" for kind, ids in sorted(deleted.items())) or "none"
        lines.append(
            (
                level,
                "",
                f"teardown phases: {phases} deleted={counts} revoked_rules={len(result.get('revoked_rules') or [])} "
                f"blockers={len(blockers)} completed={result.get('completed')} "
                f"audit={result.get('audit_file') or '-'}",
            )
        )
    elif short == "golden_ami" and action.startswith(("org.platform.", "golden_ami")):
        lines.append(
            (
                "ERR" if status == "failed" else "OK",
                "",
                f"golden AMI: ami={result.get('ami_id') or '-'} build_required={result.get('build_required')} "
                f"reason_code={result.get('reason_code', '-')} reason={_clip(result.get('reason', ''), 160)}",
            )
        )
    elif short == "shared_rds_services" and action.startswith(("org.platform.", "shared_rds_services")):
        services = result.get("services") or []
        listed = ", ".join(
            f"{svc.get('name')}({svc.get('state', 'present')}{', rotate' if svc.get('rotate') else ''})"
            for svc in services
        )
        lines.append(("ERR" if status == "failed" else "OK", "", f"RDS services: {listed or 'none'}"))
    elif short == "rke2_node" and action.startswith(("org.platform.", "rke2_node")):
        actions = ",".join(result.get("actions") or []) or "none"
        lines.append(
            (
                "ERR" if status == "failed" else "OK",
                "",
                f"RKE2 node {result.get('node_name') or '-'} ({result.get('unit') or '-'}): actions={actions} "
                f"version={result.get('installed_version') or '-'}"
                + (f" error={_clip(result.get('msg', ''), 160)}" if status == "failed" else ""),
            )
        )
    elif short == "rke2_wait" and action.startswith(("org.platform.", "rke2_wait")):
        lines.append(
            (
                "ERR" if status == "failed" else "OK",
                "",
                f"RKE2 ready={result.get('ready')} waited={float(result.get('waited_s') or 0):.1f}s"
                + (f" error={_clip(result.get('msg', ''), 160)}" if status == "failed" else ""),
            )
        )
    elif action in ("ansible.builtin.assert", "assert", "ansible.legacy.assert"):
        if status == "failed":
            lines.append(("ERR", "", f"guard refused: {_clip(result.get('msg') or 'assertion failed', 240)}"))
        elif status == "ok":
            lines.append(("OK", "", "guard passed"))
    return lines


def mask_extra_vars(value: str) -> str:
    """An C(-e) argument with every value masked (C(@file) arguments are kept: they name a file)."""
    value = value.strip()
    if value.startswith("@"):
        return value
    if value.startswith(("{", "[")):
        try:
            parsed = json.loads(value)
        except ValueError:
            return MASK
        if isinstance(parsed, dict):
            return json.dumps({key: MASK for key in parsed})
        return MASK
    try:
        words = shlex.split(value)
    except ValueError:
        return MASK
    return " ".join(f"{word.split('=', 1)[0]}={MASK}" if "=" in word else MASK for word in words)


def mask_command_line(argv: list[str]) -> str:
    """The command line with every extra-vars value masked."""
    shown: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            shown.append(mask_extra_vars(arg))
            mask_next = False
        elif arg in ("-e", "--extra-vars"):
            shown.append(arg)
            mask_next = True
        elif arg.startswith("--extra-vars="):
            shown.append("--extra-vars=" + mask_extra_vars(arg.split("=", 1)[1]))
        elif arg.startswith("-e") and len(arg) > 2 and not arg.startswith("--"):
            shown.append("-e" + mask_extra_vars(arg[2:]))
        else:
            shown.append(arg)
    return shlex.join(shown)


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_revision(*directories: Path) -> str:
    """``<sha> (clean|dirty)`` of the first of ``directories`` inside a git work tree."""
    for directory in directories:
        revision = _git(directory, "rev-parse", "HEAD")
        if revision is not None:
            break
    else:
        return "not a git repository"
    dirty = _git(directory, "status", "--porcelain", "--untracked-files=no")
    return f"{revision} ({'dirty' if dirty else 'clean'})"


def collection_version() -> str:
    for name in ("MANIFEST.json", "galaxy.yml"):
        path = COLLECTION_ROOT / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if name.endswith(".json"):
            return str(json.loads(text).get("collection_info", {}).get("version", "unknown"))
        for line in text.splitlines():
            if line.startswith("version:"):
                return line.split(":", 1)[1].strip().strip("'\"")
    return "unknown"


def _fail_soft(method: Callable) -> Callable:
    """A callback hook that never raises: the first error disables the run log with one console warning."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self._disabled:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self._disable(f"{type(exc).__name__}: {exc}")
            return None

    return wrapper


# ----------------------------------------------------------------------------------------------------------------


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "org.platform.run_log"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._disabled = False
        self._disabled_reason = ""
        self._redactor = Redactor()
        self._fd: int | None = None
        self.path: Path | None = None
        self._pending: list[str] = []
        self._started = time.monotonic()
        self._start_time = datetime.now(UTC)
        self._playbook_name = "playbook"
        self._playbook_dir = Path.cwd()
        self._play: Any = None
        self._variable_manager: Any = None
        self._loader: Any = None
        self._env = ""
        self._upload = ""
        self._registered: list[tuple[Any, Any, str]] = []
        self._run_files: list[tuple[str, str]] = []
        self._play_started: float | None = None
        self._counts = {"OK": 0, "WARN": 0, "ERR": 0}

    # -- options ------------------------------------------------------------------------------------------------

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._level = self.get_option("level")
        self._retention = int(self.get_option("retention"))
        self._upload = self.get_option("upload") or ""
        self._kms_key_id = self.get_option("upload_kms_key_id") or ""
        log_dir = Path(os.path.expanduser(self.get_option("log_dir")))
        if not log_dir.is_absolute():
            base = Path(C.CONFIG_FILE).parent if C.CONFIG_FILE else Path.cwd()
            log_dir = base / log_dir
        self._log_dir = log_dir

    # -- writing ------------------------------------------------------------------------------------------------

    def _disable(self, reason: str) -> None:
        if self._disabled:
            return
        self._disabled = True
        self._disabled_reason = self._redactor.redact(reason)
        self._display.warning(f"org.platform.run_log: no run log for this run ({self._disabled_reason})")
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def _write(self, text: str) -> None:
        line = self._redactor.line(text) + "\n"
        if self._fd is None:
            self._pending.append(line)
            return
        os.write(self._fd, line.encode("utf-8", "replace"))

    def _event(self, level: str, host: str, where: str, message: str, stack: str = "") -> None:
        self._counts[level] = self._counts.get(level, 0) + 1
        stack_part = f" stack={stack}" if stack else ""
        self._write(f"{line_stamp()} {level:<4} {host} {where}{stack_part} {message}")

    def _open(self) -> None:
        """Create the run's file (once the environment is known) and write the header."""
        if self._fd is not None or self._disabled:
            return
        try:
            self.path, self._fd = create_log_file(self._log_dir, self._playbook_name, self._env, self._start_time)
        except RunLogError as exc:
            self._disable(str(exc))
            return
        name = parse_log_name(self.path.name)
        cli = context.CLIARGS
        header = [
            "# org.platform run log",
            f"# run: {name.stamp}-{name.run_id}" if name else "# run: ?",
            f"# started: {line_stamp(self._start_time)}",
            f"# user: {getpass.getuser()}",
            f"# host: {socket.gethostname()}",
            f"# playbook: {self._playbook_name}",
            f"# command: {mask_command_line([Path(sys.argv[0]).name, *sys.argv[1:]])}",
            f"# inventory: {', '.join(cli.get('inventory') or ()) or '-'}",
            f"# environment: {self._env}",
            f"# check_mode: {bool(cli.get('check'))} diff_mode: {bool(cli.get('diff'))}",
            f"# limit: {cli.get('subset') or '-'} tags: {','.join(cli.get('tags') or ()) or '-'}",
            f"# git: {git_revision(self._playbook_dir, Path.cwd())}",
            f"# collection: org.platform {collection_version()}",
            f"# level: {self._level}",
            "",
        ]
        pending, self._pending = self._pending, []
        for text in header:
            self._write(text)
        for line in pending:
            os.write(self._fd, line.encode("utf-8", "replace"))
        try:
            prune(self._log_dir, self._retention, protect=[self.path])
        except OSError as exc:
            self._display.warning(f"org.platform.run_log: retention skipped ({exc.strerror or exc})")

    # -- secrets ------------------------------------------------------------------------------------------------

    def _collect_vars(self, variables: Mapping[str, Any], templar: Any) -> None:
        """Values of secret-named and vault-encrypted variables (templated, as the play would see them)."""
        for name, value in variables.items():
            if name in ("hostvars", "vars", "groups", "group_names", "omit", "playbook_dir", "play_hosts"):
                continue
            if isinstance(value, EncryptedString):
                self._redactor.add(str(value))
            elif looks_secret_name(name):
                # a secret-named structure (``db_credentials: {user, password}``) counts by its secret-named keys
                self._redactor.add(quiet_values([self._template(templar, value)]))
            elif isinstance(value, (Mapping, list)):
                self._collect_nested(value, templar, depth=0)

    def _collect_nested(self, value: Any, templar: Any, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(item, EncryptedString):
                    self._redactor.add(str(item))
                elif looks_secret_name(key):
                    self._redactor.add(quiet_values([self._template(templar, item)]))
                elif isinstance(item, (Mapping, list)):
                    self._collect_nested(item, templar, depth + 1)
        elif isinstance(value, list):
            for item in value[:1000]:
                if isinstance(item, EncryptedString):
                    self._redactor.add(str(item))
                elif isinstance(item, (Mapping, list)):
                    self._collect_nested(item, templar, depth + 1)

    @staticmethod
    def _template(templar: Any, value: Any) -> Any:
        if isinstance(value, EncryptedString):
            return str(value)
        if templar is None or _WRITING_LOOKUP.search(str(value)):
            return value  # the password lookup writes a file: the play, not its log, decides when
        try:
            return templar.template(value)
        except Exception:
            return value

    def _templar_for(self, host: Any, task: Any = None) -> tuple[Any, dict]:
        from ansible.template import Templar

        variables = self._variable_manager.get_vars(play=self._play, host=host, task=task)
        return Templar(loader=self._loader, variables=variables), variables

    def _resolve_registered(self) -> None:
        """Registered results of no_log tasks become known after their callback: collect them now."""
        pending, self._registered = self._registered, []
        for host, task, name in pending:
            try:
                _templar, variables = self._templar_for(host, task)
            except Exception:  # noqa: S112 - the host may be gone from the play
                continue
            self._redactor.add(registered_values(variables.get(name)))

    def _collect_result(self, result: Any, data: Mapping[str, Any]) -> None:
        task = result.task
        # Secret-named keys at the top of a result (a module returning ``password``) and in the facts it sets
        # (set_fact, include_vars). Deeper keys name other things (``output_changes: {db_password: create}``).
        for key, value in data.items():
            if looks_secret_name(key) and not isinstance(value, Mapping):
                self._redactor.add(value)
        self._redactor.add_named(data.get("ansible_facts") or {})
        no_log = bool(data.get("censored")) or bool(result.task_fields.get("no_log"))
        module_args = (data.get("invocation") or {}).get("module_args") or {}
        masked = [key for key, value in module_args.items() if value == NO_LOG_PLACEHOLDER]
        if not (no_log or masked) or self._variable_manager is None:
            return
        templar, _variables = self._templar_for(result.host, task)
        args = task.args or {}
        action = (task.resolved_action or task.action or "").rsplit(".", 1)[-1]
        for key in masked:
            if key in args and not _public_no_log_parameter(action, key, args):
                self._redactor.add(self._template(templar, args[key]))
        if no_log:
            if action in ("set_fact", "include_vars", "set_stats"):
                self._redactor.add(quiet_values(self._template(templar, args)))
            else:
                for key, value in args.items():
                    if looks_secret_name(key):
                        self._redactor.add(self._template(templar, value))
                    elif isinstance(value, (Mapping, list)):
                        self._redactor.add_named(self._template(templar, value))
            if task.loop is not None:
                self._redactor.add(quiet_values(self._template(templar, task.loop)))
            if "item" in data:
                self._redactor.add(quiet_values([data["item"]]))
            if task.register:
                self._registered.append((result.host, task, task.register))

    # -- results ------------------------------------------------------------------------------------------------

    @staticmethod
    def _rescued(task: Any) -> bool:
        parent = getattr(task, "_parent", None)
        while parent is not None:
            if getattr(parent, "rescue", None):
                return True
            parent = getattr(parent, "_parent", None)
        return False

    def _result(self, status: str, result: Any, ignore_errors: bool = False, item: bool = False) -> None:
        data = result.result
        self._collect_result(result, data)
        task = result.task
        host = result.host.get_name()
        where = task.get_name().strip() or task.action
        rescued = status == "failed" and not ignore_errors and self._rescued(task)
        level = classify(status, data, ignore_errors, rescued)
        action = task.resolved_action or task.action or ""
        milestones = [] if item else milestone_lines(action, status, data)
        for m_level, stack, message in milestones:
            self._event(m_level, host, where, message, stack)
        if not item:
            self._remember_files(action, data)
        if milestones:
            return
        if self._level == "tasks":
            message = short_message(status, data, ignore_errors, rescued)
            if item:
                label = data.get("_ansible_item_label", data.get("item", ""))
                message = f"item={_clip(label, 80)} {message}"
            stacks = ",".join(str(s.get("name")) for s in data.get("stacks") or [] if isinstance(s, Mapping))
            self._event(level, host, where, message, stacks)
        elif level == "ERR" and not item:
            # failures are always a milestone
            self._event(level, host, where, short_message(status, data, ignore_errors, rescued))

    def _remember_files(self, action: str, data: Mapping[str, Any]) -> None:
        short = action.rsplit(".", 1)[-1]
        if short == "terraform_stacks":
            for stack in data.get("stacks") or []:
                for path in stack.get("log_files") or []:
                    self._run_files.append(("terraform", str(path)))
        elif short == "cluster_cleanup" and data.get("audit_file"):
            self._run_files.append(("audit", str(data["audit_file"])))

    # -- hooks --------------------------------------------------------------------------------------------------

    @_fail_soft
    def v2_playbook_on_start(self, playbook):
        file_name = Path(playbook._file_name)
        if self._loader is not None:
            # ansible-playbook a.yml b.yml: one run, one file (named after the first playbook)
            self._event("OK", "-", "PLAYBOOK", f"next playbook {file_name}")
            return
        self._start_time = datetime.now(UTC)
        self._started = time.monotonic()
        self._playbook_name = file_name.stem
        self._playbook_dir = file_name.resolve().parent
        self._loader = playbook.get_loader()
        from ansible.utils.vars import load_extra_vars

        extra_vars = load_extra_vars(self._loader)
        self._collect_vars(extra_vars, None)
        if extra_vars.get("run_log_upload"):
            self._upload = str(extra_vars["run_log_upload"])

    @_fail_soft
    def v2_playbook_on_play_start(self, play):
        self._resolve_registered()
        self._play = play
        self._variable_manager = play.get_variable_manager()
        self._loader = self._loader or play._loader
        inventory = self._variable_manager._inventory
        hosts = inventory.get_hosts(play.hosts) if inventory is not None else []
        env = ""
        for host in hosts[:50] or [None]:
            templar, variables = self._templar_for(host)
            self._collect_vars(variables, templar)
            env = env or str(self._template(templar, variables.get("platform_env", "")) or "")
            upload = variables.get("run_log_upload")
            if upload:
                self._upload = str(self._template(templar, upload))
        if not self._env:
            inventories = context.CLIARGS.get("inventory") or ()
            self._env = env or (Path(inventories[0]).stem if inventories else "") or "unknown"
            self._open()
        self._end_play()
        self._play_started = time.monotonic()
        self._play_name = play.get_name().strip()
        self._event("OK", "-", f"PLAY [{self._play_name}]", f"start hosts={','.join(h.name for h in hosts) or '-'}")

    def _end_play(self) -> None:
        if self._play_started is not None:
            took = time.monotonic() - self._play_started
            self._event("OK", "-", f"PLAY [{self._play_name}]", f"end duration={took:.1f}s")
            self._play_started = None

    @_fail_soft
    def v2_playbook_on_task_start(self, task, is_conditional):
        if self._registered:
            self._resolve_registered()

    @_fail_soft
    def v2_playbook_on_handler_task_start(self, task):
        if self._registered:
            self._resolve_registered()

    @_fail_soft
    def v2_runner_on_ok(self, result):
        self._result("ok", result)

    @_fail_soft
    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("failed", result, ignore_errors=ignore_errors)

    @_fail_soft
    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    @_fail_soft
    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    @_fail_soft
    def v2_runner_on_async_failed(self, result):
        self._result("async_failed", result)

    @_fail_soft
    def v2_runner_retry(self, result):
        self._collect_result(result, result.result)
        if self._level == "tasks":
            data = result.result
            self._event("WARN", result.host.get_name(), result.task.get_name().strip(), short_message("retry", data))

    @_fail_soft
    def v2_runner_item_on_ok(self, result):
        self._result("ok", result, item=True)

    @_fail_soft
    def v2_runner_item_on_failed(self, result):
        self._result("failed", result, ignore_errors=bool(result.task_fields.get("ignore_errors")), item=True)

    @_fail_soft
    def v2_runner_item_on_skipped(self, result):
        self._result("skipped", result, item=True)

    @_fail_soft
    def v2_playbook_on_stats(self, stats):
        self._resolve_registered()
        if self._fd is None and not self._env:
            self._env = "unknown"
            self._open()
        self._end_play()
        failed = False
        warned = False
        for host in sorted(stats.processed):
            summary = stats.summarize(host)
            bad = summary.get("failures", 0) or summary.get("unreachable", 0)
            soft = summary.get("rescued", 0) or summary.get("ignored", 0)
            failed = failed or bool(bad)
            warned = warned or bool(soft)
            counts = " ".join(
                f"{key}={summary.get(key, 0)}"
                for key in ("ok", "changed", "unreachable", "failures", "skipped", "rescued", "ignored")
            )
            self._event("ERR" if bad else "WARN" if soft else "OK", host, "RECAP", counts)
        outcome = "failed" if failed else "succeeded with warnings" if warned or self._counts["WARN"] else "succeeded"
        took = time.monotonic() - self._started
        self._event("ERR" if failed else "OK", "-", "OUTCOME", f"{outcome} duration={took:.1f}s")
        self._finish_upload()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.path is not None and not self._disabled:
            self._display.display(f"Run log: {self.path}")

    def _finish_upload(self) -> None:
        if not self._upload or self.path is None:
            return
        files = [("global", str(self.path))] + [f for f in dict.fromkeys(self._run_files) if Path(f[1]).is_file()]
        self._write(f"{line_stamp()} OK   - UPLOAD to {self._upload}: {len(files)} file(s), SSE-KMS")
        try:
            import boto3

            keys = upload_files(boto3.client("s3"), self._upload, files, self._kms_key_id)
        except Exception as exc:
            message = self._redactor.redact(f"{type(exc).__name__}: {exc}")
            self._write(f"{line_stamp()} WARN - UPLOAD failed: {message}")
            self._display.warning(f"org.platform.run_log: upload to {self._upload} failed ({message})")
            return
        self._write(f"{line_stamp()} OK   - UPLOAD done: {len(keys)} object(s)")
        self._display.display(f"Run log uploaded to {self._upload} ({len(keys)} file(s))")
