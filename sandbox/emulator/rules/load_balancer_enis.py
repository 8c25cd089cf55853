"""Load balancers own network interfaces, which outlive them for a while; deletion protection holds.

What AWS does and moto 5.2.5 does not (AWS: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/requester-managed-eni.html
and https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-security-groups):

* A classic ELB and an ALB get one ENI per subnet: description ``ELB <name>`` / ``ELB app/<name>/<id>``,
  requester-managed by ``amazon-elb``, attachment ``eni-attach-*`` owned by ``amazon-elb``, holding the
  load balancer's security groups. After the load balancer is deleted they may be force-detached and
  deleted; while it exists, detaching them is ``OperationNotPermitted``.
* An NLB gets ``ELB net/<name>/<id>`` ENIs (interface type ``network_load_balancer``) attached by an
  ``ela-attach-*`` attachment owned by ``amazon-aws``: never detachable, they only go away on their own.
* Every load balancer ENI lingers ``eni_linger_s`` seconds (``_state.CONFIG``) after its load balancer
  is deleted, still attached and still holding its security groups, then disappears.
* ``DeleteLoadBalancer`` (ELBv2) fails with ``OperationNotPermitted`` while the attribute
  ``deletion_protection.enabled`` is ``true``.

moto serialises ELBv2 network load balancer ARNs as ``loadbalancer/app/...``; the ENI description
uses ``net/`` for them, as AWS does, so callers must use the load balancer's ``Type``, not its ARN.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ec2 import ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.utils import random_id
from moto.elb.models import ELBBackend
from moto.elbv2.models import ELBv2Backend

from sandbox.emulator.rules import _state

LB_ATTR = "_orgp_load_balancer"  # ("elb", name) or ("elbv2", arn) on a load balancer's ENIs


class DeletionProtectionError(ServiceException):
    def __init__(self, arn: str):
        super().__init__(
            "OperationNotPermitted",
            f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled",
        )


class _LoadBalancerAttachment:
    """The attachment of a load balancer ENI: no instance, owned by the ELB service."""

    def __init__(self, eni: LoadBalancerNetworkInterface):
        self.attach_time = eni.attach_time
        self.attachment_id = eni.attachment_id
        self.delete_on_termination = False
        self.device_index = 1
        self.network_card_index = 0
        self.instance_id = None
        self.instance_owner_id = eni.attachment_owner
        self.status = "attached"


class LoadBalancerNetworkInterface(NetworkInterface):
    """A requester-managed ENI owned by a (classic, application or network) load balancer."""

    def __init__(self, ec2_backend: Any, subnet: Any, group_ids: list[str], description: str, nlb: bool):
        super().__init__(
            ec2_backend, subnet, private_ip_address=[], group_ids=group_ids or None, description=description
        )
        if not group_ids:
            self._group_set = []  # an NLB without security groups holds none (not the VPC default)
        self.requester_managed = True
        self.requester_id = "amazon-elb"
        self.interface_type = "network_load_balancer" if nlb else "interface"
        self.attachment_owner = "amazon-aws" if nlb else "amazon-elb"
        self.attachment_id = random_id(prefix="ela-attach" if nlb else "eni-attach", size=17)
        self.attach_time = None
        self.device_index = 1
        self.status = "in-use"

    @property
    def attachment(self) -> Any:
        return _LoadBalancerAttachment(self) if self.attachment_id else None

    @property
    def ela_attached(self) -> bool:
        return bool(self.attachment_id and self.attachment_id.startswith("ela-attach-"))

    def detach(self) -> None:
        self.attachment_id = None
        self.status = "available"

    def get_filter_value(self, filter_name: str, method_name: str | None = None) -> Any:
        values = {
            "attachment.instance-owner-id": self.attachment_owner if self.attachment_id else None,
            "attachment.attachment-id": self.attachment_id,
            "attachment.status": "attached" if self.attachment_id else None,
            "attachment.instance-id": None,
            "requester-managed": "true",
            "requester-id": self.requester_id,
            "interface-type": self.interface_type,
            "status": self.status,
        }
        if filter_name in values:
            return values[filter_name]
        return super().get_filter_value(filter_name, method_name)


def load_balancer_exists(eni: LoadBalancerNetworkInterface) -> bool:
    kind, key = getattr(eni, LB_ATTR)
    backend = _elb_backends(eni.ec2_backend)[0 if kind == "elb" else 1]
    return key in backend.load_balancers


def _elb_backends(ec2_backend: Any) -> tuple[ELBBackend, ELBv2Backend]:
    from moto.elb import elb_backends
    from moto.elbv2 import elbv2_backends

    return (
        elb_backends[ec2_backend.account_id][ec2_backend.region_name],
        elbv2_backends[ec2_backend.account_id][ec2_backend.region_name],
    )


def _create_enis(
    ec2_backend: Any, owner: tuple[str, str], subnets: list[Any], groups: list[str], description: str, nlb: bool
) -> None:
    with _state.LOCK:
        for subnet in subnets:
            subnet_obj = ec2_backend.get_subnet(subnet) if isinstance(subnet, str) else subnet
            eni = LoadBalancerNetworkInterface(ec2_backend, subnet_obj, list(groups or []), description, nlb)
            setattr(eni, LB_ATTR, owner)
            ec2_backend.enis[eni.id] = eni


def _release_enis(ec2_backend: Any, owner: tuple[str, str]) -> None:
    with _state.LOCK:
        for eni in list(ec2_backend.enis.values()):
            if getattr(eni, LB_ATTR, None) == owner:
                _state.schedule_expiry(eni)


def _patch_elb() -> None:
    create, delete = ELBBackend.create_load_balancer, ELBBackend.delete_load_balancer

    @functools.wraps(create)
    def create_load_balancer(self: ELBBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        lb = create(self, name, *args, **kwargs)
        ec2 = ec2_backends[self.account_id][self.region_name]
        _create_enis(ec2, ("elb", lb.name), lb.subnets, lb.security_groups, f"ELB {lb.name}", nlb=False)
        return lb

    @functools.wraps(delete)
    def delete_load_balancer(self: ELBBackend, load_balancer_name: str) -> None:
        existed = load_balancer_name in self.load_balancers
        delete(self, load_balancer_name)
        if existed:
            _release_enis(ec2_backends[self.account_id][self.region_name], ("elb", load_balancer_name))

    ELBBackend.create_load_balancer = create_load_balancer
    ELBBackend.delete_load_balancer = delete_load_balancer


def _patch_elbv2() -> None:
    create, delete = ELBv2Backend.create_load_balancer, ELBv2Backend.delete_load_balancer

    @functools.wraps(create)
    def create_load_balancer(self: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
        lb = create(self, *args, **kwargs)
        nlb = lb.type in ("network", "gateway")
        suffix = lb.arn.split(":loadbalancer/", 1)[1]
        if nlb and suffix.startswith("app/"):
            suffix = "net/" + suffix[len("app/") :]
        ec2 = ec2_backends[self.account_id][self.region_name]
        _create_enis(ec2, ("elbv2", lb.arn), lb.subnets, lb.security_groups or [], f"ELB {suffix}", nlb=nlb)
        return lb

    @functools.wraps(delete)
    def delete_load_balancer(self: ELBv2Backend, arn: str) -> None:
        lb = self.load_balancers.get(arn)
        if lb is not None and str(lb.attrs.get("deletion_protection.enabled", "false")).lower() == "true":
            raise DeletionProtectionError(arn)
        delete(self, arn)
        if lb is not None:
            _release_enis(ec2_backends[self.account_id][self.region_name], ("elbv2", arn))

    ELBv2Backend.create_load_balancer = create_load_balancer
    ELBv2Backend.delete_load_balancer = delete_load_balancer


def install() -> None:
    if getattr(ELBBackend, "_orgp_lb_enis", False):
        return
    _patch_elb()
    _patch_elbv2()
    ELBBackend._orgp_lb_enis = True  # type: ignore[attr-defined]
