"""SSM fleet manager and Session Manager calls that moto 5.2 lacks.

* ``UpdateInstanceInformation`` (what the SSM agent calls): accepted only when signed with credentials of
  the instance itself, i.e. an STS session of the emulator whose session name is the ``InstanceId``
  (the node's instance-metadata stand-in issues exactly those), and only for an instance that is running.
  It records the ping.
* ``DescribeInstanceInformation``: the registered instances; ``PingStatus`` is ``Online`` while the last
  ping is younger than ``ssm_online_window_s`` (default 30 s, env ``ORG_PLATFORM_EMULATOR_SSM_ONLINE_S``)
  and the instance is running, else ``ConnectionLost``. Filters: ``InstanceIds`` and ``PingStatus`` (in
  ``Filters`` or ``InstanceInformationFilterList``).
* ``StartSession``: ``TargetNotConnected`` unless the target is ``Online``; otherwise ``SessionId``
  (``<caller>-<hex>``), ``TokenValue`` and ``StreamUrl``, the token bound to target and caller.
* ``TerminateSession`` and ``ResumeSession`` (a new token; ``DoesNotExistException`` for an unknown or
  terminated session).

Control (server only), ``/_org_platform/ssm``:

* ``GET``: ``{"sessions": {...}, "counters": {"<instance>": {"started": n, "terminated": n,
  "resumed": n}}}`` (the round-trip figures of the benchmark come from these counters);
* ``POST {"session_id": ..., "token": ...}`` to ``/_org_platform/ssm/verify`` (the stand-in
  session-manager-plugin's check): ``200 {"target", "caller", "session_id"}`` for a live session with
  that token, ``403`` otherwise; ``POST {"reset_counters": true}`` to ``/_org_platform/ssm`` zeroes the counters.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.ssm.responses import SimpleSystemManagerResponse

from sandbox.emulator.rules import _state

CONTROL_PATH = "/_org_platform/ssm"
VERIFY_PATH = "/_org_platform/ssm/verify"
_KEY_RE = re.compile(r"Credential=([^/]+)/")
ONLINE_WINDOW_S = float(os.environ.get("ORG_PLATFORM_EMULATOR_SSM_ONLINE_S", "") or 30.0)

REGISTERED: dict[str, dict[str, Any]] = {}  # instance id -> what the agent reported, last ping
SESSIONS: dict[str, dict[str, Any]] = {}
COUNTERS: dict[str, dict[str, int]] = defaultdict(lambda: {"started": 0, "terminated": 0, "resumed": 0})


def reset() -> None:
    with _state.LOCK:
        REGISTERED.clear()
        SESSIONS.clear()
        COUNTERS.clear()


def _instance(account: str, region: str, instance_id: str) -> Any:
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account][region]
    for reservation in backend.reservations.values():
        for instance in reservation.instances:
            if instance.id == instance_id:
                return instance
    return None


def _caller(response: SimpleSystemManagerResponse) -> str:
    match = _KEY_RE.search(response.headers.get("Authorization", "") or "")
    return match.group(1) if match else ""


def _assumed_role(access_key: str) -> Any:
    from moto.sts.models import sts_backends

    for account in list(sts_backends.keys()):
        for backend in list(sts_backends[account].values()):
            role = backend.get_assumed_role_from_access_key(access_key)
            if role is not None:
                return role
    return None


def ping_status(entry: dict[str, Any], instance: Any) -> str:
    running = instance is not None and instance._state.name == "running"
    fresh = time.time() - entry["last_ping"] < ONLINE_WINDOW_S
    return "Online" if running and fresh else "ConnectionLost"


def _filters(response: SimpleSystemManagerResponse) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for item in response._get_param("Filters") or []:
        wanted[item["Key"]] = list(item.get("Values", []))
    for item in response._get_param("InstanceInformationFilterList") or []:
        key = {"InstanceIds": "InstanceIds", "PingStatus": "PingStatus"}.get(item["key"], item["key"])
        wanted[key] = list(item.get("valueSet", []))
    unknown = set(wanted) - {"InstanceIds", "PingStatus"}
    if unknown:
        raise JsonRESTError("InvalidInstanceInformationFilterValue", f"unsupported filter keys {sorted(unknown)}")
    return wanted


def update_instance_information(self: SimpleSystemManagerResponse) -> str:
    instance_id = self._get_param("InstanceId") or ""
    role = _assumed_role(_caller(self))
    if role is None or role.session_name != instance_id:
        raise JsonRESTError(
            "AccessDeniedException",
            f"UpdateInstanceInformation for {instance_id!r} must be signed with that instance's role credentials",
        )
    instance = _instance(self.current_account, self.region, instance_id)
    if instance is None or instance._state.name != "running":
        raise JsonRESTError("InvalidInstanceId", f"Instance {instance_id} is not running")
    with _state.LOCK:
        first = instance_id not in REGISTERED
        entry = REGISTERED.setdefault(instance_id, {"registered": time.time()})
        entry.update(
            last_ping=time.time(),
            account=self.current_account,
            region=self.region,
            role_arn=role.role_arn,
            agent_version=self._get_param("AgentVersion") or "",
            platform_name=self._get_param("PlatformName") or "",
            platform_version=self._get_param("PlatformVersion") or "",
            computer_name=self._get_param("ComputerName") or "",
            ip_address=self._get_param("IPAddress") or instance.private_ip,
        )
        if first:
            entry["first_ping"] = entry["last_ping"]
    return "{}"  # an agent-only API: botocore has no model for it, so no ActionResult


def describe_instance_information(self: SimpleSystemManagerResponse) -> ActionResult:
    wanted = _filters(self)
    ids = set(wanted.get("InstanceIds", []))
    statuses = set(wanted.get("PingStatus", []))
    items = []
    with _state.LOCK:
        entries = [(i, dict(e)) for i, e in REGISTERED.items() if e["account"] == self.current_account]
    for instance_id, entry in sorted(entries):
        if entry["region"] != self.region or (ids and instance_id not in ids):
            continue
        status = ping_status(entry, _instance(self.current_account, self.region, instance_id))
        if statuses and status not in statuses:
            continue
        items.append(
            {
                "InstanceId": instance_id,
                "PingStatus": status,
                "LastPingDateTime": datetime.fromtimestamp(entry["last_ping"], UTC),
                "RegistrationDate": datetime.fromtimestamp(entry["registered"], UTC),
                "AgentVersion": entry["agent_version"],
                "IsLatestVersion": True,
                "PlatformType": "Linux",
                "PlatformName": entry["platform_name"],
                "PlatformVersion": entry["platform_version"],
                "ResourceType": "EC2Instance",
                "IPAddress": entry["ip_address"],
                "ComputerName": entry["computer_name"],
                "IamRole": entry["role_arn"].split("/")[-1],
            }
        )
    return ActionResult({"InstanceInformationList": items})


def _stream_url(self: SimpleSystemManagerResponse, session_id: str) -> str:
    host = self.headers.get("Host", "ssmmessages")
    return f"ws://{host}/_org_platform/ssmmessages/v1/data-channel/{session_id}?role=publish_subscribe"


def start_session(self: SimpleSystemManagerResponse) -> ActionResult:
    target = self._get_param("Target") or ""
    caller = _caller(self)
    with _state.LOCK:
        entry = dict(REGISTERED.get(target) or {})
    instance = _instance(self.current_account, self.region, target)
    if not entry or ping_status(entry, instance) != "Online":
        raise JsonRESTError("TargetNotConnected", f"{target} is not connected.")
    name = (_assumed_role(caller).session_name if _assumed_role(caller) else caller) or "anonymous"
    session_id = f"{re.sub(r'[^A-Za-z0-9_.-]', '-', name)[:40]}-{secrets.token_hex(9)}"
    token = secrets.token_urlsafe(48)
    with _state.LOCK:
        SESSIONS[session_id] = {
            "target": target,
            "caller": caller,
            "token": token,
            "status": "Connected",
            "document": self._get_param("DocumentName") or "SSM-SessionManagerRunShell",
            "started": time.time(),
        }
        COUNTERS[target]["started"] += 1
    return ActionResult({"SessionId": session_id, "TokenValue": token, "StreamUrl": _stream_url(self, session_id)})


def terminate_session(self: SimpleSystemManagerResponse) -> ActionResult:
    session_id = self._get_param("SessionId") or ""
    with _state.LOCK:
        session = SESSIONS.get(session_id)
        if session is not None and session["status"] != "Terminated":
            session["status"] = "Terminated"
            session["ended"] = time.time()
            COUNTERS[session["target"]]["terminated"] += 1
    return ActionResult({"SessionId": session_id})


def resume_session(self: SimpleSystemManagerResponse) -> ActionResult:
    session_id = self._get_param("SessionId") or ""
    with _state.LOCK:
        session = SESSIONS.get(session_id)
        if session is None or session["status"] == "Terminated":
            raise JsonRESTError("DoesNotExistException", f"Session {session_id} does not exist or has terminated")
        session["token"] = secrets.token_urlsafe(48)
        COUNTERS[session["target"]]["resumed"] += 1
        token = session["token"]
    return ActionResult({"SessionId": session_id, "TokenValue": token, "StreamUrl": _stream_url(self, session_id)})


def verify(session_id: str, token: str) -> dict[str, str] | None:
    """The session a stand-in plugin may attach to, if ``token`` is its current token."""
    with _state.LOCK:
        session = SESSIONS.get(session_id)
        if session is None or session["status"] == "Terminated":
            return None
        if not hmac.compare_digest(session["token"].encode(), token.encode()):
            return None
        return {"session_id": session_id, "target": session["target"], "caller": session["caller"]}


def snapshot() -> dict[str, Any]:
    with _state.LOCK:
        return {
            "sessions": {sid: {k: v for k, v in s.items() if k != "token"} for sid, s in SESSIONS.items()},
            "counters": {k: dict(v) for k, v in COUNTERS.items()},
            "registered": {k: dict(v) for k, v in REGISTERED.items()},
        }


def _respond(start_response: Any, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _control(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    values: dict[str, Any] = {}
    if environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            values = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError as exc:
            return _respond(start_response, "400 Bad Request", {"error": f"not JSON: {exc}"})
        if not isinstance(values, dict):
            return _respond(start_response, "400 Bad Request", {"error": "expected a JSON object"})
    if path == VERIFY_PATH:
        found = verify(str(values.get("session_id", "")), str(values.get("token", "")))
        if found is None:
            return _respond(start_response, "403 Forbidden", {"error": "unknown session or wrong token"})
        return _respond(start_response, "200 OK", found)
    if values.get("reset_counters"):
        with _state.LOCK:
            COUNTERS.clear()
    return _respond(start_response, "200 OK", snapshot())


def install() -> None:
    if getattr(SimpleSystemManagerResponse, "_orgp_sessions", False):
        return
    SimpleSystemManagerResponse.update_instance_information = update_instance_information
    SimpleSystemManagerResponse.describe_instance_information = describe_instance_information
    SimpleSystemManagerResponse.start_session = start_session
    SimpleSystemManagerResponse.terminate_session = terminate_session
    SimpleSystemManagerResponse.resume_session = resume_session
    SimpleSystemManagerResponse._orgp_sessions = True  # type: ignore[attr-defined]

    dispatch = DomainDispatcherApplication.__call__

    def __call__(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") in (CONTROL_PATH, VERIFY_PATH):
            return _control(environ, start_response)
        return dispatch(self, environ, start_response)

    DomainDispatcherApplication.__call__ = __call__
