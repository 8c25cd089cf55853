# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The append-only audit log of a cleanup run."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    """Append-only JSON lines: time, action, resource, reason (+ pre-images such as the full SG rule)."""

    def __init__(self, path: Path | None, base: dict[str, Any]):
        self.path = path
        self._base = base
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, action: str, resource: str, reason: str, **extra: Any) -> None:
        if self.path is None:
            return
        record = {"time": utc_now(), "action": action, "resource": resource, "reason": reason, **self._base, **extra}
        line = json.dumps(record, sort_keys=True, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def audit_path(audit_dir: Path | None, run_label: str, cluster_names: list[str]) -> Path | None:
    """``<audit_dir>/<UTC stamp>_<label>_cleanup.jsonl`` (None: no audit file)."""
    if audit_dir is None:
        return None
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", run_label or "-".join(cluster_names))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return Path(audit_dir) / f"{stamp}_{label}_cleanup.jsonl"
