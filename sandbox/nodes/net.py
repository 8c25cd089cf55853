"""The sandbox VPC: network namespaces and veth pairs with no way out.

Layout for one emulator VPC (all names carry the sandbox's tag, so two state directories never collide
and ``cleanup`` finds exactly what this sandbox created, even after a killed run):

* ``op<tag>-vpc<n>``: the VPC's router namespace. It holds the bridge ``br0`` that every node's veth is
  attached to, and the VPC endpoint address (base of the VPC CIDR + 2, where AWS puts the VPC resolver)
  on that bridge. IP forwarding stays off, so nothing is routed through it.
* ``op<tag>-<last 8 of instance id>``: one namespace per node; ``eth0`` with the private IP the emulator
  assigned, an on-link route for the VPC CIDR only: no default route, no NAT, IPv6 off.
* ``op<tag>h<n>`` (host) / ``uplink`` (router namespace): a /30 link in 198.18.0.0/15 and a host route for
  the endpoint address only, so the controller reaches the endpoints at the same address as the nodes
  (presigned S3 URLs are signed for that host). Nodes have no route to the host side of that link.

The pure functions (names, addresses) are unit-tested; ``apply_*`` run ``ip`` and need root.
"""

from __future__ import annotations

import hashlib
import ipaddress
import subprocess
from dataclasses import dataclass
from pathlib import Path

NETNS_DIR = Path("/run/netns")
HOST_LINK_NET = ipaddress.ip_network("198.18.0.0/15")


class NetworkError(Exception):
    """A namespace, link or address could not be set up."""


def sandbox_tag(state_dir: Path) -> str:
    """Four hex digits that identify one sandbox state directory in interface and namespace names."""
    return hashlib.sha1(str(Path(state_dir).resolve()).encode()).hexdigest()[:4]  # noqa: S324 - a name, not security


def endpoint_address(vpc_cidr: str) -> str:
    """The VPC endpoint address: VPC base + 2 (never an instance address: AWS reserves .0-.3 of a subnet)."""
    network = ipaddress.ip_network(vpc_cidr, strict=False)
    if network.version != 4 or network.prefixlen > 28:
        raise NetworkError(f"VPC CIDR {vpc_cidr!r} is not an IPv4 block of /28 or larger")
    return str(network.network_address + 2)


@dataclass(frozen=True)
class VpcNet:
    tag: str
    index: int
    vpc_id: str
    cidr: str

    @property
    def netns(self) -> str:
        return f"op{self.tag}-vpc{self.index}"

    @property
    def endpoint(self) -> str:
        return endpoint_address(self.cidr)

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.cidr, strict=False).prefixlen

    @property
    def host_link(self) -> str:
        return f"op{self.tag}h{self.index}"

    def host_link_addresses(self) -> tuple[str, str]:
        """(host side, router side) of the /30 uplink, derived from the tag so sandboxes do not collide."""
        blocks = HOST_LINK_NET.num_addresses // 4
        block = (int(self.tag, 16) * 8 + self.index) % blocks
        base = HOST_LINK_NET.network_address + block * 4
        return str(base + 1), str(base + 2)


def node_netns(tag: str, instance_id: str) -> str:
    return f"op{tag}-{instance_id[-8:]}"


@dataclass(frozen=True)
class NodeNet:
    tag: str
    instance_id: str
    private_ip: str
    vpc: VpcNet

    @property
    def netns(self) -> str:
        return node_netns(self.tag, self.instance_id)

    @property
    def bridge_port(self) -> str:
        return f"n{self.tag}{self.instance_id[-8:]}"[:15]

    def validate(self) -> None:
        network = ipaddress.ip_network(self.vpc.cidr, strict=False)
        address = ipaddress.ip_address(self.private_ip)
        if address not in network:
            raise NetworkError(f"{self.instance_id}: private IP {self.private_ip} is outside VPC {self.vpc.cidr}")
        if str(address) == self.vpc.endpoint:
            raise NetworkError(f"{self.instance_id}: private IP {self.private_ip} is the VPC endpoint address")


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    command = ["ip", *(["-n", netns] if netns else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise NetworkError(f"`{' '.join(command)}` failed: {result.stderr.strip()}")
    return result


def _sysctl(netns: str, key: str, value: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    subprocess.run(["ip", "netns", "exec", netns, "sh", "-c", f"echo {value} > {path}"], check=True)


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def apply_vpc(vpc: VpcNet) -> None:
    """Create the router namespace, its bridge with the endpoint address, and the host uplink (idempotent)."""
    if netns_exists(vpc.netns):
        return
    host_side, router_side = vpc.host_link_addresses()
    _ip("netns", "add", vpc.netns)
    try:
        _sysctl(vpc.netns, "net.ipv4.ip_forward", "0")
        _sysctl(vpc.netns, "net.ipv6.conf.all.disable_ipv6", "1")
        _ip("link", "set", "lo", "up", netns=vpc.netns)
        _ip("link", "add", "br0", "type", "bridge", netns=vpc.netns)
        _ip("addr", "add", f"{vpc.endpoint}/{vpc.prefixlen}", "dev", "br0", netns=vpc.netns)
        _ip("link", "set", "br0", "up", netns=vpc.netns)
        _ip("link", "add", vpc.host_link, "type", "veth", "peer", "name", "uplink", "netns", vpc.netns)
        _ip("addr", "add", f"{router_side}/30", "dev", "uplink", netns=vpc.netns)
        _ip("link", "set", "uplink", "up", netns=vpc.netns)
        _ip("addr", "add", f"{host_side}/30", "dev", vpc.host_link)
        _ip("link", "set", vpc.host_link, "up")
        _ip("route", "add", f"{vpc.endpoint}/32", "via", router_side, "dev", vpc.host_link)
    except (NetworkError, subprocess.CalledProcessError) as exc:
        remove_vpc(vpc)
        raise NetworkError(f"VPC network for {vpc.vpc_id} ({vpc.cidr}): {exc}") from exc


def apply_node(node: NodeNet) -> None:
    """The node's namespace and its veth into the VPC bridge (idempotent)."""
    node.validate()
    if netns_exists(node.netns):
        return
    _ip("netns", "add", node.netns)
    try:
        _sysctl(node.netns, "net.ipv6.conf.all.disable_ipv6", "1")
        _ip("link", "set", "lo", "up", netns=node.netns)
        _ip(
            "link", "add", "eth0", "netns", node.netns, "type", "veth",
            "peer", "name", node.bridge_port, "netns", node.vpc.netns,
        )  # fmt: skip
        _ip("link", "set", node.bridge_port, "master", "br0", "up", netns=node.vpc.netns)
        _ip("addr", "add", f"{node.private_ip}/{node.vpc.prefixlen}", "dev", "eth0", netns=node.netns)
        _ip("link", "set", "eth0", "up", netns=node.netns)
    except (NetworkError, subprocess.CalledProcessError) as exc:
        remove_netns(node.netns)
        raise NetworkError(f"network for {node.instance_id}: {exc}") from exc


def remove_netns(name: str) -> bool:
    if not netns_exists(name):
        return False
    _ip("netns", "del", name, check=False)
    return True


def remove_vpc(vpc: VpcNet) -> None:
    _ip("link", "del", vpc.host_link, check=False)
    remove_netns(vpc.netns)


def leftovers(tag: str) -> dict[str, list[str]]:
    """Namespaces and host links this sandbox created that still exist."""
    prefix = f"op{tag}"
    names = sorted(p.name for p in NETNS_DIR.glob(f"{prefix}-*")) if NETNS_DIR.is_dir() else []
    links = sorted(p.name for p in Path("/sys/class/net").glob(f"{prefix}h*"))
    return {"netns": names, "links": links}


def cleanup(tag: str) -> dict[str, list[str]]:
    """Remove every namespace and host link of this sandbox (nodes first, router namespaces last)."""
    found = leftovers(tag)
    for link in found["links"]:
        _ip("link", "del", link, check=False)
    for name in sorted(found["netns"], key=lambda n: "-vpc" in n):
        remove_netns(name)
    return found
