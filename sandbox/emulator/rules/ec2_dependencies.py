"""EC2 dependency rules that moto 5.2.5 leaves out (AWS docs: DeleteSecurityGroup, ENIs, DeleteSubnet).

* ``DeleteSecurityGroup`` fails with ``DependencyViolation`` while the group is used by a network
  interface (including a load balancer's, see ``load_balancer_enis``) or a live instance, or while a
  rule of another security group references it (a group's references to itself do not count).
* ``DeleteNetworkInterface`` fails with ``InvalidNetworkInterface.InUse`` while the ENI is attached.
* ``DetachNetworkInterface`` fails with ``OperationNotPermitted`` for the primary ENI (device index 0)
  of an instance, for ``ela-attach`` attachments, for a load balancer's ENI while the load balancer
  exists, and for any other requester-managed ENI. A classic ELB's or ALB's ENI may be detached once
  its load balancer is gone.
* ``DeleteSubnet`` fails with ``DependencyViolation`` while an ENI is in the subnet.
* ``DeleteVpc`` fails with ``DependencyViolation`` while a non-default security group is in the VPC.
* ``TerminateInstances`` releases the instance's ENIs as AWS does: the primary ENI and those marked
  delete-on-termination are deleted, the others are detached (``available``). moto leaves them attached.

Load balancer ENIs whose linger time has passed are dropped before each of these calls and before
``DescribeNetworkInterfaces`` (``_state.reap_expired_enis``).
"""

from __future__ import annotations

import functools
from typing import Any

from moto.ec2.exceptions import DependencyViolationError, EC2ClientError, OperationNotPermitted
from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.ec2.models.subnets import SubnetBackend
from moto.ec2.models.vpcs import VPCBackend

from sandbox.emulator.rules import _state


class NetworkInterfaceInUseError(EC2ClientError):
    def __init__(self, eni_id: str):
        super().__init__("InvalidNetworkInterface.InUse", f"The network interface '{eni_id}' is currently in use.")


def _live_instances(backend: Any) -> list[Any]:
    return [i for i in backend.all_instances() if getattr(i, "_state", None) is None or i._state.name != "terminated"]


def security_group_dependents(backend: Any, group_id: str) -> list[str]:
    """What keeps ``group_id`` from being deleted: ENI ids, instance ids and referencing rule ids."""
    found: list[str] = []
    for eni in backend.enis.values():
        if any(g.id == group_id for g in eni._group_set):
            found.append(eni.id)
    for instance in _live_instances(backend):
        if any(g.id == group_id for g in instance.security_groups):
            found.append(instance.id)
    for groups in backend.groups.values():
        for group in groups.values():
            if group.id == group_id:
                continue
            for rule in [*group.ingress_rules, *group.egress_rules]:
                if (rule.source_group or {}).get("GroupId") == group_id:
                    found.append(f"{group.id}/{rule.id}")
    return found


def _patch_security_groups() -> None:
    original = SecurityGroupBackend._delete_security_group

    @functools.wraps(original)
    def _delete_security_group(self: Any, vpc_id: str | None, group_id: str) -> None:
        with _state.LOCK:
            _state.reap_expired_enis(self)
            group = self.get_security_group_from_id(group_id)
            # moto's DeleteVpc removes the VPC's default group itself; AWS does the same.
            if group is not None and group.name != "default":
                dependents = security_group_dependents(self, group_id)
                if dependents:
                    raise DependencyViolationError(
                        f"resource {group_id} has a dependent object ({', '.join(sorted(dependents)[:5])})"
                    )
            return original(self, vpc_id, group_id)

    SecurityGroupBackend._delete_security_group = _delete_security_group


def _patch_network_interfaces() -> None:
    from sandbox.emulator.rules.load_balancer_enis import LoadBalancerNetworkInterface, load_balancer_exists

    delete, detach = NetworkInterfaceBackend.delete_network_interface, NetworkInterfaceBackend.detach_network_interface
    get_all = NetworkInterfaceBackend.get_all_network_interfaces

    @functools.wraps(delete)
    def delete_network_interface(self: Any, eni_id: str) -> None:
        with _state.LOCK:
            _state.reap_expired_enis(self)
            eni = self.enis.get(eni_id)
            if eni is not None and eni.attachment_id:
                raise NetworkInterfaceInUseError(eni_id)
            return delete(self, eni_id)

    @functools.wraps(detach)
    def detach_network_interface(self: Any, attachment_id: str) -> None:
        with _state.LOCK:
            _state.reap_expired_enis(self)
            eni = next((e for e in self.enis.values() if e.attachment_id == attachment_id), None)
            if isinstance(eni, LoadBalancerNetworkInterface):
                if eni.ela_attached:
                    raise OperationNotPermitted("You are not allowed to manage 'ela-attach' attachments.")
                if load_balancer_exists(eni):
                    raise OperationNotPermitted(
                        f"You do not have permission to access the specified resource: {eni.id} is in use by a load balancer."
                    )
                eni.detach()
                return None
            if eni is not None and eni.requester_managed:
                raise OperationNotPermitted(
                    f"You do not have permission to detach requester-managed interface {eni.id}."
                )
            if eni is not None and eni.instance is not None and eni.device_index == 0:
                raise OperationNotPermitted(
                    "The network interface at device index 0 and networkCard index 0 cannot be detached."
                )
            return detach(self, attachment_id)

    @functools.wraps(get_all)
    def get_all_network_interfaces(self: Any, *args: Any, **kwargs: Any) -> Any:
        _state.reap_expired_enis(self)
        return get_all(self, *args, **kwargs)

    NetworkInterfaceBackend.delete_network_interface = delete_network_interface
    NetworkInterfaceBackend.detach_network_interface = detach_network_interface
    NetworkInterfaceBackend.get_all_network_interfaces = get_all_network_interfaces


def _patch_subnets_and_vpcs() -> None:
    delete_subnet, delete_vpc = SubnetBackend.delete_subnet, VPCBackend.delete_vpc

    @functools.wraps(delete_subnet)
    def _delete_subnet(self: Any, subnet_id: str) -> Any:
        with _state.LOCK:
            _state.reap_expired_enis(self)
            if any(eni.subnet is not None and eni.subnet.id == subnet_id for eni in self.enis.values()):
                raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
            return delete_subnet(self, subnet_id)

    @functools.wraps(delete_vpc)
    def _delete_vpc(self: Any, vpc_id: str) -> Any:
        with _state.LOCK:
            groups = self.groups.get(vpc_id, {})
            if any(g.name != "default" for g in groups.values()):
                raise DependencyViolationError(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
            return delete_vpc(self, vpc_id)

    SubnetBackend.delete_subnet = _delete_subnet
    VPCBackend.delete_vpc = _delete_vpc


def _patch_instance_termination() -> None:
    from moto.ec2.models.instances import Instance

    terminate = Instance.terminate

    @functools.wraps(terminate)
    def _terminate(self: Any) -> Any:
        with _state.LOCK:
            for index, nic in sorted(self.nics.items()):
                if index == 0:
                    # Gone from the account; the instance keeps the object because moto reads its IP.
                    self.ec2_backend.enis.pop(nic.id, None)
                    nic.delete_on_termination = False
                    continue
                self.detach_eni(nic)
                if nic.delete_on_termination:
                    self.ec2_backend.enis.pop(nic.id, None)
                    nic.delete_on_termination = False
            return terminate(self)

    Instance.terminate = _terminate


def install() -> None:
    if getattr(SecurityGroupBackend, "_orgp_dependencies", False):
        return
    _patch_security_groups()
    _patch_network_interfaces()
    _patch_subnets_and_vpcs()
    _patch_instance_termination()
    SecurityGroupBackend._orgp_dependencies = True  # type: ignore[attr-defined]
