"""Classic ELB: asking for a load balancer that does not exist is ``LoadBalancerNotFound``, as on AWS.

moto 5.2's DescribeLoadBalancerAttributes and ModifyLoadBalancerAttributes dereference the missing load
balancer and answer HTTP 500. amazon.aws.elb_classic_lb asks for the attributes of the load balancer it
is about to create, so on plain moto it cannot create one at all.
"""

from __future__ import annotations

from moto.elb.exceptions import LoadBalancerNotFoundError
from moto.elb.responses import ELBResponse

_GUARDED = ("describe_load_balancer_attributes", "modify_load_balancer_attributes")


def install() -> None:
    for action in _GUARDED:
        original = getattr(ELBResponse, action)
        if getattr(original, "_org_platform_not_found", False):
            continue
        setattr(ELBResponse, action, _guard(original))


def _guard(original):
    def action(self):
        name = self._get_param("LoadBalancerName")
        if self.elb_backend.get_load_balancer(name) is None:
            raise LoadBalancerNotFoundError(name)
        return original(self)

    action._org_platform_not_found = True
    action.__name__ = original.__name__
    return action
