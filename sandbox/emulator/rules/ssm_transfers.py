"""Per-instance counters of what the aws_ssm connection moves: S3 transfer objects and in-session commands.

On AWS, every file the ``amazon.aws.aws_ssm`` connection sends to or fetches from a node (every module's
``AnsiballZ_*.py`` included) is an object ``<bucket>/<instance-id>/<remote path>`` in the transfer bucket:
the controller puts it, the node's ``curl`` gets it with a presigned URL, the controller deletes it
(https://github.com/ansible-collections/amazon.aws/blob/main/plugins/plugin_utils/ssm/filetransfermanager.py).
The commands themselves travel in the Session Manager data channel, which the service relays
(https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html). moto counts neither;
these counters are how the sandbox measures the connection's round trips (``benchmarks/ssm.py``).

* S3: every successful (2xx) S3 object request whose key starts with an instance id (path-style
  ``/<bucket>/i-.../...`` or virtual-hosted ``/i-.../...``) counts as ``s3_put`` (PUT), ``s3_get`` (GET) or
  ``s3_delete`` (DELETE) for that instance.
* Commands: the data channel is the stand-in ``sandbox/bin/session-manager-plugin``; when a session ends it
  reports how many commands the aws_ssm plugin sent through it, ``POST /_org_platform/ssm/channel
  {"session_id", "token", "commands"}``, accepted (``200``) only with the live session's current token, as
  ``ssm_sessions.verify`` checks it (``403`` otherwise, ``400`` for a malformed count).

Control (server only): ``GET /_org_platform/ssm/transfers`` → ``{"counters": {"<instance>": {"commands",
"sessions_reported", "s3_put", "s3_get", "s3_delete"}}}``; ``POST {"reset_counters": true}`` zeroes them.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from sandbox.emulator.rules import _state, ssm_sessions

CONTROL_PATH = "/_org_platform/ssm/transfers"
CHANNEL_PATH = "/_org_platform/ssm/channel"
KINDS = ("commands", "sessions_reported", "s3_put", "s3_get", "s3_delete")
_OBJECT_RE = re.compile(r"^/(?:(?!i-)[^/]+/)?(i-[0-9a-f]{8,17})/.")
_S3_METHODS = {"PUT": "s3_put", "GET": "s3_get", "DELETE": "s3_delete"}

COUNTERS: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))


def reset() -> None:
    with _state.LOCK:
        COUNTERS.clear()


def snapshot() -> dict[str, dict[str, int]]:
    with _state.LOCK:
        return {instance: dict(counts) for instance, counts in COUNTERS.items()}


def transfer_kind(method: str, path: str) -> tuple[str, str] | None:
    """(instance id, counter) for an S3 object request of the aws_ssm transfer layout, else None."""
    match = _OBJECT_RE.match(path)
    kind = _S3_METHODS.get(method)
    return (match.group(1), kind) if match and kind else None


def report_channel(values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Record a session's command count if its token is the live session's; (HTTP status, body)."""
    commands = values.get("commands")
    if not isinstance(commands, int) or isinstance(commands, bool) or commands < 0:
        return "400 Bad Request", {"error": f"commands must be a count, not {commands!r}"}
    session = ssm_sessions.verify(str(values.get("session_id", "")), str(values.get("token", "")))
    if session is None:
        return "403 Forbidden", {"error": "unknown session or wrong token"}
    with _state.LOCK:
        counts = COUNTERS[session["target"]]
        counts["commands"] += commands
        counts["sessions_reported"] += 1
    return "200 OK", {"target": session["target"], "commands": commands}


def _respond(start_response: Any, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _control(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    values: dict[str, Any] = {}
    if environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            values = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError as exc:
            return _respond(start_response, "400 Bad Request", {"error": f"not JSON: {exc}"})
        if not isinstance(values, dict):
            return _respond(start_response, "400 Bad Request", {"error": "expected a JSON object"})
    if environ.get("PATH_INFO") == CHANNEL_PATH:
        return _respond(start_response, *report_channel(values))
    if values.get("reset_counters"):
        reset()
    return _respond(start_response, "200 OK", {"counters": snapshot()})


def count_response(environ: dict[str, Any], status: str) -> None:
    """Count one finished request if it was a successful transfer-object request."""
    found = transfer_kind(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
    if found and status[:1] == "2":
        with _state.LOCK:
            COUNTERS[found[0]][found[1]] += 1


def install() -> None:
    if getattr(DomainDispatcherApplication, "_orgp_ssm_transfers", False):
        return
    dispatch = DomainDispatcherApplication.__call__

    def __call__(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path in (CONTROL_PATH, CHANNEL_PATH):
            return _control(environ, start_response)
        if not _OBJECT_RE.match(path):
            return dispatch(self, environ, start_response)
        captured: dict[str, str] = {}

        def capture(status: str, headers: Any, *args: Any) -> Any:
            captured["status"] = status
            return start_response(status, headers, *args)

        chunks = list(dispatch(self, environ, capture))
        count_response(environ, captured.get("status", ""))
        return chunks

    DomainDispatcherApplication.__call__ = __call__
    DomainDispatcherApplication._orgp_ssm_transfers = True  # type: ignore[attr-defined]
