"""The node service: turns the emulator's golden-image instances into booted machines and back.

``python -m sandbox.nodes serve --state-dir DIR --aws-port N --mysql-port N`` (started by
``python -m sandbox up --nodes``). It attaches to the emulator (rule ``ec2_nodes``), then polls the node
instances twice a second and follows them:

* ``pending``: create the VPC network (once per VPC: router namespace, endpoints, metadata stand-in) and
  the node's namespace, boot the machine; once systemd inside answers ``running`` (or ``degraded``)
  report ``running``;
* ``stopping``: power the machine off, keep its overlay, report ``stopped``;
* ``shutting-down``: power off, remove overlay and namespace, report ``terminated``;
* a ``running`` node whose machine died is reported ``stopped``.

SIGTERM stops every machine and removes every namespace it created; whatever a killed service leaves
behind, ``cleanup()`` (run by ``python -m sandbox down``) removes.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
import traceback
import urllib.request
from pathlib import Path
from typing import Any

from sandbox.nodes import endpoints, image, machine, net
from sandbox.nodes.imds import MetadataServer

POLL_S = 0.5
BOOT_TIMEOUT_S = 120.0


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} nodes: {message}", flush=True)


class NodeService:
    def __init__(self, state_dir: Path, aws_port: int, mysql_port: int):
        self.state_dir = Path(state_dir).resolve()
        self.aws_port = aws_port
        self.mysql_port = mysql_port
        self.tag = net.sandbox_tag(self.state_dir)
        self.control = f"http://127.0.0.1:{aws_port}/_org_platform/nodes"
        self.vpcs: dict[str, net.VpcNet] = {}
        self.listeners: dict[str, list[Any]] = {}
        self.machines: dict[str, machine.Machine] = {}
        self.booting: dict[str, float] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.creds: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.creds_lock = threading.Lock()
        self.sts: Any = None
        self.stopping = threading.Event()
        self.image: Path | None = None

    # -- emulator ---------------------------------------------------------------------------------------
    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the loopback emulator
            self.control, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def report(self, instance_id: str, state: str) -> None:
        try:
            self._post({"instance_id": instance_id, "state": state})
            log(f"{instance_id} -> {state}")
        except OSError as exc:
            log(f"{instance_id}: could not report {state}: {exc}")

    # -- instance metadata ------------------------------------------------------------------------------
    def lookup(self, vpc_id: str, client_ip: str) -> dict[str, Any] | None:
        with self.lock:
            for node in self.nodes.values():
                if node["vpc_id"] == vpc_id and node["private_ip"] == client_ip and node["state"] == "running":
                    return node | {"hostname": f"ip-{client_ip.replace('.', '-')}.ec2.internal", "role": _role(node)}
        return None

    def credentials(self, node: dict[str, Any]) -> dict[str, Any] | None:
        with self.creds_lock:  # one STS call per instance and hour; boto3 clients are made once, not per thread
            cached = self.creds.get(node["instance_id"])
            if cached and cached["expires"] - time.time() > 300:
                return cached["document"]
            if self.sts is None:
                import boto3

                self.sts = boto3.session.Session().client(
                    "sts",
                    endpoint_url=f"http://127.0.0.1:{self.aws_port}",
                    region_name=node["region"],
                    aws_access_key_id="emulator-dummy-access-key",
                    aws_secret_access_key="emulator-dummy-secret-access-key-0000",  # noqa: S106 - emulator dummy
                )
            answer = self.sts.assume_role(
                RoleArn=node["role_arn"], RoleSessionName=node["instance_id"], DurationSeconds=3600
            )
            return self._remember(node["instance_id"], answer["Credentials"])

    def _remember(self, instance_id: str, c: dict[str, Any]) -> dict[str, Any]:
        document = {
            "Code": "Success",
            "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Type": "AWS-HMAC",
            "AccessKeyId": c["AccessKeyId"],
            "SecretAccessKey": c["SecretAccessKey"],
            "Token": c["SessionToken"],
            "Expiration": c["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.creds[instance_id] = {"document": document, "expires": c["Expiration"].timestamp()}
        return document

    # -- networks ---------------------------------------------------------------------------------------
    def vpc_for(self, node: dict[str, Any]) -> net.VpcNet:
        vpc_id = node["vpc_id"]
        if vpc_id in self.vpcs:
            return self.vpcs[vpc_id]
        vpc = net.VpcNet(self.tag, len(self.vpcs), vpc_id, node["vpc_cidr"])
        net.apply_vpc(vpc)
        path = net.NETNS_DIR / vpc.netns
        aws = endpoints.listen_in_netns(path, vpc.endpoint, endpoints.AWS_PORT)
        mysql = endpoints.listen_in_netns(path, vpc.endpoint, endpoints.MYSQL_PORT)
        imds_sock = endpoints.listen_in_netns(path, vpc.endpoint, endpoints.IMDS_PORT)
        forwarders = [
            endpoints.Forwarder(aws, lambda: ("127.0.0.1", self.aws_port), "aws").start(),
            endpoints.Forwarder(
                mysql, lambda: ("127.0.0.1", self.mysql_port) if self.mysql_port else None, "mysql"
            ).start(),
        ]
        server = MetadataServer(imds_sock, lambda ip: self.lookup(vpc_id, ip), self.credentials).start()
        self.listeners[vpc_id] = [*forwarders, server]
        self.vpcs[vpc_id] = vpc
        self.write_vpcs()
        log(f"VPC {vpc_id} ({vpc.cidr}): endpoints on {vpc.endpoint} (ports 80, 3306, 8775) in {vpc.netns}")
        return vpc

    def write_vpcs(self) -> None:
        """``<state>/nodes/vpcs.json``: each VPC's endpoint address (inventories/sandbox reads it)."""
        vpcs = {v.vpc_id: {"endpoint": v.endpoint, "cidr": v.cidr, "netns": v.netns} for v in self.vpcs.values()}
        target = self.state_dir / "nodes" / "vpcs.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(vpcs, indent=2, sort_keys=True) + "\n")

    def machine_for(self, node: dict[str, Any]) -> machine.Machine:
        found = self.machines.get(node["instance_id"])
        if found is None:
            vpc = self.vpc_for(node)
            node_net = net.NodeNet(self.tag, node["instance_id"], node["private_ip"], vpc)
            found = machine.Machine(
                instance_id=node["instance_id"],
                home=self.state_dir / "nodes" / node["instance_id"],
                image=self.image,  # type: ignore[arg-type]
                netns=node_net.netns,
                private_ip=node["private_ip"],
                endpoint=vpc.endpoint,
                region=node["region"],
            )
            found.net = node_net  # type: ignore[attr-defined]
            self.machines[node["instance_id"]] = found
        return found

    # -- the loop ---------------------------------------------------------------------------------------
    def step(self) -> None:
        listing = self._post({})
        with self.lock:
            self.nodes = {n["instance_id"]: n for n in listing["nodes"]}
        for instance_id, node in list(self.nodes.items()):
            try:
                self.follow(instance_id, node)
            except (net.NetworkError, machine.MachineError, OSError) as exc:
                log(f"{instance_id}: {exc}")
            except Exception:  # one node's surprise must not stop the other nodes' machines
                log(f"{instance_id}: unexpected error\n{traceback.format_exc()}")

    def follow(self, instance_id: str, node: dict[str, Any]) -> None:
        state = node["state"]
        if state == "pending":
            if not node.get("vpc_id") or not node.get("private_ip"):
                raise machine.MachineError("a node needs a subnet (VPC) and a private IP")
            box = self.machine_for(node)
            if box.pid() is None:
                net.apply_node(box.net)  # type: ignore[attr-defined]
                box.boot()
                self.booting[instance_id] = time.monotonic()
                log(f"{instance_id}: booting {box.hostname} ({node['private_ip']})")
            elif box.booted():
                started = self.booting.pop(instance_id, time.monotonic())
                (box.home / "boot.json").write_text(json.dumps({"boot_s": round(time.monotonic() - started, 2)}))
                self.report(instance_id, "running")
            elif time.monotonic() - self.booting.get(instance_id, time.monotonic()) > BOOT_TIMEOUT_S:
                raise machine.MachineError(f"did not boot within {BOOT_TIMEOUT_S:.0f}s (log {box.log_file})")
        elif state == "running":
            box = self.machines.get(instance_id)
            if box is not None and box.pid() is None:
                self.report(instance_id, "stopped")
        elif state in ("stopping", "stopped"):
            box = self.machines.get(instance_id)
            if box is not None and box.pid() is not None:
                box.stop()
                net.remove_netns(box.netns)
            if state == "stopping":
                self.report(instance_id, "stopped")
        elif state in ("shutting-down", "terminated"):
            box = self.machines.pop(instance_id, None)
            if box is not None:
                box.remove()
                net.remove_netns(box.netns)
            if state == "shutting-down":
                self.report(instance_id, "terminated")

    def serve(self) -> None:
        self.image = image.ensure_image(log=log)
        self._post({"attach": True})
        log(f"attached to the emulator; base image {self.image}")
        while not self.stopping.is_set():
            try:
                self.step()
            except (OSError, ValueError) as exc:
                log(f"emulator not answering: {exc}")
            self.stopping.wait(POLL_S)
        self.shutdown()

    def shutdown(self) -> None:
        stoppers = [threading.Thread(target=box.stop) for box in self.machines.values()]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        for listeners in self.listeners.values():
            for item in listeners:
                with contextlib.suppress(OSError):
                    item.shutdown() if isinstance(item, MetadataServer) else item.close()
        net.cleanup(self.tag)
        (self.state_dir / "nodes" / "vpcs.json").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._post({"attach": False})
        log("stopped every machine and removed the VPC networks")


def _role(node: dict[str, Any]) -> str | None:
    arn = node.get("role_arn")
    return arn.split("/")[-1] if arn else None


def cleanup(state_dir: Path) -> dict[str, Any]:
    """Remove whatever nodes of ``state_dir`` still exist: machines, namespaces, host links, overlays."""
    state_dir = Path(state_dir).resolve()
    killed = []
    for pid_file in sorted((state_dir / "nodes").glob("*/pid")):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().strip())
            if machine._alive(pid):
                machine.stop_process(pid, 10)
                killed.append(pid)
        pid_file.unlink(missing_ok=True)
    for pid in machine.machine_processes(state_dir):
        machine.stop_process(pid, 10)
        killed.append(pid)
    for home in sorted((state_dir / "nodes").glob("*/")):
        machine.remove_cgroups(machine.cgroup_name(home))
    removed = net.cleanup(net.sandbox_tag(state_dir))
    return {"machines": killed, **removed}


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sandbox.nodes serve")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--aws-port", type=int, required=True)
    parser.add_argument("--mysql-port", type=int, default=0)
    args = parser.parse_args(argv)
    service = NodeService(args.state_dir, args.aws_port, args.mysql_port)
    signal.signal(signal.SIGTERM, lambda *_: service.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: service.stopping.set())
    service.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
