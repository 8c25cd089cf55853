# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for the AWX REST API (/api/v2/) on 127.0.0.1, enough for awx/configure.yml's awx.awx modules.

No AWX server can run here. This stand-in keeps what the modules post and answers the way AWX 24.6.1 does in
the places that decide whether a rerun reports a change: objects come back with the fields they were posted
with (plus ``id``, ``url``, ``type``, ``related``, ``summary_fields``); a credential's secret inputs come back as
``$encrypted$`` (the trap behind awx.awx's ``update_secrets``); a survey spec comes back as it was posted;
associations (credentials, notification templates, workflow node links) are lists of ids; lists filter on the
query parameters the modules send (``name``, ``or__id``/``or__name``, ``organization``, ``workflow_job_template``,
``identifier``, ``type``, ``*__icontains``). Every request is recorded, so a test can count the writes of a second
apply. It is not AWX: it validates nothing AWX would validate beyond what is said here (SIMULATED).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ENCRYPTED = "$encrypted$"
API = "/api/v2/"
# endpoint -> the object type AWX names it by
TYPES = {
    "organizations": "organization",
    "credential_types": "credential_type",
    "credentials": "credential",
    "execution_environments": "execution_environment",
    "projects": "project",
    "inventories": "inventory",
    "inventory_sources": "inventory_source",
    "notification_templates": "notification_template",
    "job_templates": "job_template",
    "schedules": "schedule",
    "workflow_job_templates": "workflow_job_template",
    "workflow_job_template_nodes": "workflow_job_template_node",
    "labels": "label",
    "instance_groups": "instance_group",
    "users": "user",
    "teams": "team",
}
# sub-resource -> the endpoint its ids belong to
ASSOCIATIONS = {
    "credentials": "credentials",
    "labels": "labels",
    "instance_groups": "instance_groups",
    "notification_templates_error": "notification_templates",
    "notification_templates_success": "notification_templates",
    "notification_templates_started": "notification_templates",
    "notification_templates_approvals": "notification_templates",
    "galaxy_credentials": "credentials",
    "success_nodes": "workflow_job_template_nodes",
    "failure_nodes": "workflow_job_template_nodes",
    "always_nodes": "workflow_job_template_nodes",
}
UNIFIED = ("job_templates", "workflow_job_templates", "projects", "inventory_sources")
SUMMARY_OF = {  # field holding an id -> the endpoint whose name summary_fields shows
    "organization": "organizations",
    "credential_type": "credential_types",
    "inventory": "inventories",
    "project": "projects",
    "unified_job_template": None,
}
AWS_TYPE = {
    "name": "Amazon Web Services",
    "kind": "cloud",
    "managed": True,
    "description": "",
    "inputs": {
        "fields": [
            {"id": "username", "label": "Access Key", "type": "string"},
            {"id": "password", "label": "Secret Key", "type": "string", "secret": True},
            {"id": "security_token", "label": "STS Token", "type": "string", "secret": True},
        ],
        "required": ["username", "password"],
    },
    "injectors": {},
}


class AwxStub:
    """The API on 127.0.0.1 (an ephemeral port); ``requests`` records (method, path) of every call."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[int, dict[str, Any]]] = {endpoint: {} for endpoint in TYPES}
        self.associations: dict[tuple[str, int, str], list[int]] = {}
        self.surveys: dict[tuple[str, int], dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._ids = 0
        self._lock = threading.Lock()
        self.create("credential_types", dict(AWS_TYPE))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> AwxStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path in self.requests if method in ("POST", "PATCH", "PUT", "DELETE")]

    # ------------------------------------------------------------------------------------------ store
    def create(self, endpoint: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._ids += 1
            item = dict(fields) | {"id": self._ids}
            self.objects[endpoint][self._ids] = item
        return self.render(endpoint, item)

    def render(self, endpoint: str, item: Mapping[str, Any]) -> dict[str, Any]:
        """An object as the API shows it: secrets masked, links and names of what it points at."""
        url = f"{API}{endpoint}/{item['id']}/"
        shown = dict(item) | {"url": url, "type": TYPES[endpoint]}
        if endpoint == "credentials":
            secret = self._secret_fields(item.get("credential_type"))
            shown["inputs"] = {
                k: (ENCRYPTED if k in secret and v else v) for k, v in (item.get("inputs") or {}).items()
            }
        related = {sub: f"{url}{sub}/" for sub in ASSOCIATIONS} | {"survey_spec": f"{url}survey_spec/"}
        summary: dict[str, Any] = {}
        for field, target in SUMMARY_OF.items():
            value = item.get(field)
            if isinstance(value, int):
                found = self._find_any(value) if target is None else (target, self.objects[target].get(value))
                if found and found[1]:
                    summary[field] = {"id": value, "name": found[1].get("name", "")}
                    related[field] = f"{API}{found[0]}/{value}/"
        if endpoint == "projects":
            shown.setdefault("scm_revision", "0" * 40)
            summary["current_update"] = {"id": item["id"], "status": "successful"}
            related["update"] = f"{url}update/"
        shown["related"], shown["summary_fields"] = related, summary
        return shown

    def _secret_fields(self, type_id: Any) -> set[str]:
        kind = self.objects["credential_types"].get(type_id) if isinstance(type_id, int) else None
        return {f["id"] for f in ((kind or {}).get("inputs") or {}).get("fields", []) if f.get("secret")}

    def _find_any(self, item_id: int) -> tuple[str, dict[str, Any]] | None:
        for endpoint in UNIFIED:
            if item_id in self.objects[endpoint]:
                return endpoint, self.objects[endpoint][item_id]
        return None

    def listing(self, endpoint: str, query: Mapping[str, str]) -> list[dict[str, Any]]:
        pools = UNIFIED if endpoint == "unified_job_templates" else (endpoint,)
        found = []
        for pool in pools:
            for item in list(self.objects[pool].values()):
                shown = self.render(pool, item)
                if _matches(shown, query):
                    found.append(shown)
        return sorted(found, key=lambda item: item["id"])


def _matches(item: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    alternatives = {key[4:]: value for key, value in query.items() if key.startswith("or__")}
    if alternatives and not any(str(item.get(k)) == v for k, v in alternatives.items()):
        return False
    for key, value in query.items():
        if key.startswith("or__") or key in ("page", "page_size", "order_by"):
            continue
        if key.endswith("__icontains"):
            if value.lower() not in str(item.get(key[: -len("__icontains")]) or "").lower():
                return False
        elif str(item.get(key)) != value:
            return False
    return True


def _handler(stub: AwxStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # no access log on the console
            pass

        def _answer(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-API-Product-Name", "AWX")
            self.send_header("X-API-Product-Version", "24.6.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}") if length else {}

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            stub.requests.append((method, parts.path))
            if not parts.path.startswith(API):
                return self._answer(404, {"detail": "not found"})
            segments = [s for s in parts.path[len(API) :].split("/") if s]
            query = dict(parse_qsl(parts.query))
            try:
                return self._dispatch(method, segments, query)
            except KeyError as exc:
                return self._answer(404, {"detail": f"not found: {exc}"})

        def _dispatch(self, method: str, segments: list[str], query: dict[str, str]) -> None:
            endpoint = segments[0] if segments else ""
            if endpoint == "project_updates" and method == "GET":
                return self._answer(200, {"id": int(segments[1]), "status": "successful", "scm_revision": "0" * 40})
            if endpoint == "unified_job_templates" and method == "GET":
                results = stub.listing(endpoint, query)
                return self._answer(200, {"count": len(results), "next": None, "previous": None, "results": results})
            if endpoint not in TYPES:
                return self._answer(404, {"detail": f"unknown endpoint {endpoint}"})
            if len(segments) == 1:
                if method == "GET":
                    results = stub.listing(endpoint, query)
                    return self._answer(
                        200, {"count": len(results), "next": None, "previous": None, "results": results}
                    )
                if method == "POST":
                    return self._answer(201, stub.create(endpoint, self._body()))
            item_id = int(segments[1])
            item = stub.objects[endpoint][item_id]
            if len(segments) == 2:
                if method == "GET":
                    return self._answer(200, stub.render(endpoint, item))
                if method in ("PATCH", "PUT"):
                    body = self._body()
                    if endpoint == "credentials" and "inputs" in body:
                        # $encrypted$ posted back keeps the stored secret, as AWX does.
                        stored = item.get("inputs") or {}
                        body["inputs"] = {k: stored.get(k) if v == ENCRYPTED else v for k, v in body["inputs"].items()}
                    item.update(body)
                    return self._answer(200, stub.render(endpoint, item))
                if method == "DELETE":
                    del stub.objects[endpoint][item_id]
                    return self._answer(204)
            sub = segments[2]
            if sub == "survey_spec":
                key = (endpoint, item_id)
                if method == "GET":
                    return self._answer(200, stub.surveys.get(key, {}))
                if method == "POST":
                    stub.surveys[key] = self._body()
                    return self._answer(200, {})
                if method == "DELETE":  # AWX answers 200 here, and awx.awx's job_template requires it
                    stub.surveys.pop(key, None)
                    return self._answer(200, {})
            if sub == "update" and endpoint == "projects" and method == "POST":
                return self._answer(202, {"id": item_id, "url": f"{API}project_updates/{item_id}/"})
            if sub in ASSOCIATIONS:
                key, target = (endpoint, item_id, sub), ASSOCIATIONS[sub]
                linked = stub.associations.setdefault(key, [])
                if method == "GET":
                    results = [
                        stub.render(target, stub.objects[target][i]) for i in linked if i in stub.objects[target]
                    ]
                    return self._answer(
                        200, {"count": len(results), "next": None, "previous": None, "results": results}
                    )
                if method == "POST":
                    body = self._body()
                    if body.get("disassociate"):
                        linked.remove(int(body["id"]))
                    elif int(body["id"]) not in linked:
                        linked.append(int(body["id"]))
                    return self._answer(204)
            return self._answer(405, {"detail": f"{method} not allowed here"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_PUT(self) -> None:
            self._route("PUT")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler
