"""Control surface of the emulator for tests and benchmarks, plus throttling injection and call counting.

Only effective in the server (``python -m sandbox.emulator``): it wraps moto's WSGI dispatcher.

``/_org_platform/emulator``

* ``GET``: ``{"config": {...}, "stats": {...}}``. ``stats`` counts what was served since the last
  reset: ``calls`` and ``throttled`` keyed ``<service>:<Action>``, ``errors`` keyed by AWS error code
  (e.g. ``DependencyViolation``), with totals.
* ``POST`` a JSON object: any of ``eni_linger_s``, ``throttle_share``, ``throttle_seed``, ``latency_ms`` updates the
  configuration; ``{"reset_stats": true}`` zeroes the counters. Answers like ``GET``.

Throttling: with ``throttle_share`` > 0 that share of EC2 and Elastic Load Balancing calls (chosen at
random) is answered with the real throttling error instead of being served: EC2 ``RequestLimitExceeded``
(HTTP 503), ELB ``Throttling`` (HTTP 400). The emulator's own endpoints and other services are never
throttled. ``moto-api/reset`` does not change this configuration.
"""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from sandbox.emulator.rules import _state

CONTROL_PATH = "/_org_platform/emulator"
THROTTLED_SERVICES = ("ec2", "elasticloadbalancing")
_SERVICE_RE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_CODE_RE = re.compile(rb"<Code>([^<]+)</Code>")


def _json_response(start_response: Any, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload, sort_keys=True).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _control(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            values = json.loads(environ["wsgi.input"].read(length) or b"{}")
            if not isinstance(values, dict):
                raise ValueError("expected a JSON object")
            with _state.LOCK:
                if values.pop("reset_stats", False):
                    _state.reset_stats()
                _state.CONFIG.update(values)
        except (ValueError, TypeError) as exc:
            return _json_response(start_response, "400 Bad Request", {"error": str(exc)})
    elif method != "GET":
        return _json_response(start_response, "405 Method Not Allowed", {"error": method})
    with _state.LOCK:
        payload = {
            "config": {
                "eni_linger_s": _state.CONFIG.eni_linger_s,
                "throttle_share": _state.CONFIG.throttle_share,
                "throttle_seed": _state.CONFIG.throttle_seed,
                "latency_ms": _state.CONFIG.latency_ms,
            },
            "stats": _state.STATS.as_dict(),
        }
    return _json_response(start_response, "200 OK", payload)


def _service_and_action(environ: dict[str, Any]) -> tuple[str, str, bytes]:
    """The signing service, the query-protocol Action and the body (re-armed for moto to read)."""
    match = _SERVICE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = match.group(1) if match else ""
    body = b""
    if environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
    action = ""
    if service in THROTTLED_SERVICES:
        params = parse_qs(body.decode(errors="replace")) if body else parse_qs(environ.get("QUERY_STRING", ""))
        action = (params.get("Action") or [""])[0]
    return service, action, body


def _throttle_response(service: str, start_response: Any) -> list[bytes]:
    request_id = str(uuid.uuid4())
    if service == "ec2":
        status = "503 Service Unavailable"
        body = (
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
            f"</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        status = "400 Bad Request"
        body = (
            '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error>'
            "<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    data = body.encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
    return [data]


def install() -> None:
    if getattr(DomainDispatcherApplication, "_orgp_control", False):
        return
    original = DomainDispatcherApplication.__call__

    def __call__(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") == CONTROL_PATH:
            return _control(environ, start_response)
        service, action, _ = _service_and_action(environ)
        latency_ms = _state.CONFIG.latency_ms
        if service and latency_ms > 0:
            time.sleep(latency_ms / 1000.0)  # modelled network latency, outside the request lock
        if service not in THROTTLED_SERVICES or not action:
            return original(self, environ, start_response)
        key = f"{service}:{action}"
        with _state.LOCK:
            _state.STATS.calls[key] += 1
            throttle = _state.CONFIG.throttle_share > 0 and _state.RANDOM.random() < _state.CONFIG.throttle_share
            if throttle:
                _state.STATS.throttled[key] += 1
        if throttle:
            return _throttle_response(service, start_response)
        captured: dict[str, str] = {}

        def capture(status: str, headers: Any, *args: Any) -> Any:
            captured["status"] = status
            return start_response(status, headers, *args)

        chunks = list(original(self, environ, capture))
        if not captured.get("status", "200").startswith("2"):
            match = _CODE_RE.search(b"".join(chunks))
            if match:
                with _state.LOCK:
                    _state.STATS.errors[match.group(1).decode()] += 1
        return chunks

    DomainDispatcherApplication.__call__ = __call__
    DomainDispatcherApplication._orgp_control = True  # type: ignore[attr-defined]
