# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The append-only audit log of a cleanup run, written by the collection's one log rule (``_runlog.py``).

The file is ``<audit_dir>/<UTC %Y%m%dT%H%M%SZ>-<run id>_cleanup_<label>.log`` (``log_file_name``), created
exclusively with mode 0600 in a 0700 directory (``create_log_file``); each line is one JSON record whose
``time`` is ``line_stamp()``, and every line goes through a ``Redactor`` before it is written.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._runlog import Redactor, create_log_file, line_stamp

AUDIT_WHAT = "cleanup"


def audit_label(run_label: str, cluster_names: list[str]) -> str:
    """The ``<env>`` part of the file name: the run label (the playbooks pass the environment), else the clusters."""
    return run_label or "-".join(cluster_names)


class AuditLog:
    """Append-only JSON lines: time, action, resource, reason (+ pre-images such as the full SG rule).

    ``AuditLog(None, base)`` writes nothing (before the preflight has opened the file); ``AuditLog.create``
    opens a new file by the log rule.
    """

    def __init__(
        self, path: Path | None, base: dict[str, Any], fd: int | None = None, redactor: Redactor | None = None
    ):
        self.path = path
        self._base = base
        self._fd = fd
        self._redactor = redactor or Redactor()
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, audit_dir: str | Path | None, label: str, base: dict[str, Any], redactor: Redactor | None = None
    ) -> AuditLog:
        """A new audit file in ``audit_dir`` (None: no file)."""
        if audit_dir is None:
            return cls(None, base)
        path, fd = create_log_file(audit_dir, AUDIT_WHAT, label)
        return cls(path, base, fd, redactor)

    def write(self, action: str, resource: str, reason: str, **extra: Any) -> None:
        if self._fd is None:
            return
        record = {"time": line_stamp(), "action": action, "resource": resource, "reason": reason, **self._base, **extra}
        line = self._redactor.line(json.dumps(record, sort_keys=True, default=str)) + "\n"
        with self._lock:
            if self._fd is not None:
                os.write(self._fd, line.encode("utf-8"))

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __del__(self) -> None:  # a run that stopped on an exception still releases its descriptor
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            os.close(fd)
