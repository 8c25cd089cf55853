"""EC2 instances that are sandbox nodes: their state follows a real machine, not moto's instant switch.

Active only while a node service is attached (``POST /_org_platform/nodes {"attach": true}``; the
sandbox's node service does this when it starts and ``{"attach": false}`` when it stops). Then an
instance launched from a golden image (self-owned image tagged ``Role=golden``) is a *node*:

* (always) RunInstances gives its ``IamInstanceProfile`` to every instance it launches, not only the first;
* RunInstances / StartInstances leave it ``pending`` (code 0) until the node service reports it booted;
* StopInstances makes it ``stopping`` (64) until the machine is off; TerminateInstances makes it
  ``shutting-down`` (32) until the machine is gone and its overlay removed;
* the node service reports the machine's state with ``POST /_org_platform/nodes {"instance_id": ...,
  "state": "running" | "stopped" | "terminated"}``; only AWS's transitions are accepted
  (pending→running, stopping→stopped, shutting-down→terminated, running→stopped when the machine died),
  others answer ``409``.

``GET /_org_platform/nodes`` lists the node instances (id, state, private IP, VPC, CIDR, image, role of
the instance profile) for the node service. Without an attached service, instances behave as in moto.
"""

from __future__ import annotations

import json
from typing import Any

from moto.ec2.models.instances import Instance
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from sandbox.emulator.rules import _state

NODES_PATH = "/_org_platform/nodes"
GOLDEN_TAG = ("Role", "golden")
CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
ALLOWED = {
    ("pending", "running"),
    ("stopping", "stopped"),
    ("shutting-down", "terminated"),
    ("running", "stopped"),
    ("pending", "stopped"),
}
ATTACHED = {"value": False}


def is_node(instance: Instance) -> bool:
    image = instance.ec2_backend.amis.get(instance.image_id)
    if image is None:
        return False
    tags = {t.get("key"): t.get("value") for t in image.get_tags()}
    return tags.get(GOLDEN_TAG[0]) == GOLDEN_TAG[1]


def _set(instance: Instance, name: str) -> None:
    instance._state.name = name
    instance._state.code = CODES[name]


def _all_instances() -> list[Instance]:
    from moto.ec2.models import ec2_backends

    found = []
    for account in list(ec2_backends.keys()):
        for backend in list(ec2_backends[account].values()):
            for reservation in list(backend.reservations.values()):
                found.extend(reservation.instances)
    return found


def describe(instance: Instance) -> dict[str, Any]:
    backend = instance.ec2_backend
    subnet = backend.get_subnet(instance.subnet_id) if instance.subnet_id else None
    vpc = backend.get_vpc(subnet.vpc_id) if subnet else None
    association = backend.iam_instance_profile_associations.get(instance.id)
    profile = getattr(association, "iam_instance_profile", None)
    roles = [getattr(r, "arn", "") for r in getattr(profile, "roles", [])] if profile else []
    return {
        "instance_id": instance.id,
        "state": instance._state.name,
        "private_ip": instance.private_ip,
        "vpc_id": vpc.id if vpc else None,
        "vpc_cidr": vpc.cidr_block if vpc else None,
        "subnet_id": instance.subnet_id,
        "image_id": instance.image_id,
        "instance_type": instance.instance_type,
        "availability_zone": instance.placement,
        "region": backend.region_name,
        "account_id": backend.account_id,
        "role_arn": roles[0] if roles else None,
        "tags": {t["key"]: t["value"] for t in instance.get_tags()},
    }


def _response(start_response: Any, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _control(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            values = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError as exc:
            return _response(start_response, "400 Bad Request", {"error": f"not JSON: {exc}"})
        if not isinstance(values, dict):
            return _response(start_response, "400 Bad Request", {"error": "expected a JSON object"})
        with _state.LOCK:
            if "attach" in values:
                ATTACHED["value"] = bool(values["attach"])
            if "instance_id" in values:
                wanted = str(values.get("state", ""))
                if wanted not in CODES:
                    return _response(start_response, "400 Bad Request", {"error": f"unknown state {wanted!r}"})
                match = [i for i in _all_instances() if i.id == values["instance_id"]]
                if not match or not is_node(match[0]):
                    return _response(
                        start_response, "404 Not Found", {"error": f"no node instance {values['instance_id']}"}
                    )
                current = match[0]._state.name
                if current != wanted and (current, wanted) not in ALLOWED:
                    return _response(
                        start_response,
                        "409 Conflict",
                        {"error": f"{values['instance_id']}: {current} cannot become {wanted}"},
                    )
                _set(match[0], wanted)
    with _state.LOCK:
        nodes = [describe(i) for i in _all_instances() if is_node(i)]
    return _response(start_response, "200 OK", {"attached": ATTACHED["value"], "nodes": nodes})


def install() -> None:
    if getattr(Instance, "_orgp_nodes", False):
        return
    original_init, original_start = Instance.__init__, Instance.start
    original_stop, original_terminate = Instance.stop, Instance.terminate

    def __init__(self: Instance, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if ATTACHED["value"] and is_node(self):
            _set(self, "pending")

    def start(self: Instance) -> Any:
        previous = original_start(self)
        if ATTACHED["value"] and is_node(self):
            _set(self, "pending")
        return previous

    def stop(self: Instance) -> Any:
        previous = original_stop(self)
        if ATTACHED["value"] and is_node(self) and previous.name != "stopped":
            _set(self, "stopping")
        return previous

    def terminate(self: Instance) -> Any:
        previous = original_terminate(self)
        if ATTACHED["value"] and is_node(self) and previous.name != "terminated":
            _set(self, "shutting-down")
        return previous

    Instance.__init__, Instance.start, Instance.stop, Instance.terminate = __init__, start, stop, terminate

    # moto 5.2 gives RunInstances' IamInstanceProfile to the first instance only; AWS gives it to every
    # instance of the reservation (a node without it has no credentials and never registers with SSM).
    from moto.ec2.models import EC2Backend

    original_run = EC2Backend.run_instances

    def run_instances(self: Any, image_id: str, count: int, *args: Any, **kwargs: Any) -> Any:
        reservation = original_run(self, image_id, count, *args, **kwargs)
        name, arn = kwargs.get("iam_instance_profile_name"), kwargs.get("iam_instance_profile_arn")
        if name or arn:
            for instance in reservation.instances[1:]:
                self.associate_iam_instance_profile(
                    instance_id=instance.id, iam_instance_profile_name=name, iam_instance_profile_arn=arn
                )
        return reservation

    EC2Backend.run_instances = run_instances
    Instance._orgp_nodes = True  # type: ignore[attr-defined]

    dispatch = DomainDispatcherApplication.__call__

    def __call__(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") == NODES_PATH:
            return _control(environ, start_response)
        return dispatch(self, environ, start_response)

    DomainDispatcherApplication.__call__ = __call__
