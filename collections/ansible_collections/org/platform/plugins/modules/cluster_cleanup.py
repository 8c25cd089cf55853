#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""org.platform.cluster_cleanup: thin wrapper; the logic lives in module_utils/_cleanup/."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_cleanup
short_description: Remove Kubernetes-created AWS leftovers from a VPC before terraform destroy
description:
  - Discovers, in one VPC only, the load balancers, target groups, security groups, network interfaces
    and security group rules that Kubernetes' cloud controllers (cloud-provider-aws, aws-load-balancer-controller)
    created for the given clusters, builds a plan that says why each resource matched or was skipped,
    and applies it in order - load balancers, target groups, ENIs, SG references, SGs - then verifies that
    nothing is left that would block destroying the security and network stacks.
  - Never deletes anything outside the VPC, in O(protect_ids), a default security group, anything tagged
    C(shared) or tagged for another cluster. Refuses to run when the account is not O(expected_account_id).
  - In check mode it only plans. Every action is appended to a JSON-lines audit file.
  - "Refused before the first API call, with the message it gives:"
  - "B(A cluster name with a wildcard) (C(rke2-*), C(rke2-?)) - I(cluster_names entry 'rke2-*' contains a
    wildcard; cluster names are matched exactly, list each cluster by name). In an EC2 tag-key filter C(*)
    would match other clusters' resources."
  - "B(A cluster name with characters a cluster name cannot have) (spaces, C(/), a leading C(-)) -
    I(cluster_names entry '...' is not a cluster name [letters, digits, '-', '_' and '.', starting and ending
    with a letter or digit, at most 100 characters])."
  - "B(A protect entry with a wildcard) (C(sg-*)) - I(protect_ids entry 'sg-*' contains a wildcard; the protect
    list holds exact ids, ARNs or names, list each one)."
  - "B(A protect entry that looks like an id but is not one) (C(sg-123), C(eni-)) - I(protect_ids entry 'sg-123'
    looks like a sg- resource id but is not one [<prefix>-<8 or 17 hex digits>])."
  - "B(A malformed ARN or name) - I(protect_ids entry '...' starts with 'arn:' but is not an ARN), I(... is not
    an exact name [printable, no leading or trailing space, at most 255 characters])."
  - "B(A VPC id that is not one), B(an account id that is not 12 digits), B(workers outside 1..32), B(a negative
    timeout, deadline or poll interval) - each named in the message. Credentials of another account are
    refused on the first call, sts:GetCallerIdentity; a VPC that does not exist on the second."
version_added: 0.1.0
author: Platform team (@org-platform)
options:
  cluster_names:
    description: Cluster IDs as used in the C(kubernetes.io/cluster/<id>) and C(elbv2.k8s.aws/cluster) tags.
    type: list
    elements: str
    required: true
  vpc_id:
    description: The VPC to clean; nothing outside it is touched.
    type: str
    required: true
  expected_account_id:
    description: The 12-digit account the credentials must belong to.
    type: str
    required: true
  protect_ids:
    description: IDs, ARNs and names of everything in Terraform state; never deleted or modified, except
      that rules in protected security groups that reference a cleanup candidate are revoked.
    type: list
    elements: str
    default: []
  phases:
    description: Phases to run, in this order. C(lb) before the compute stack is destroyed; C(eni), C(sg)
      and C(verify) after it.
    type: list
    elements: str
    choices: [lb, eni, sg, verify]
    default: [lb, eni, sg, verify]
  timeouts:
    description: Per-phase wait bounds in seconds; C(0) means do not wait (an unset value takes the default).
    type: dict
    default: {}
    suboptions:
      lb:
        description: Waiting for load balancers to go and for target groups to be released.
        type: float
        default: 600
      eni:
        description: Waiting for load balancer ENIs to be released (also bounds the verify wait).
        type: float
        default: 600
      sg:
        description: Retrying security group deletion on DependencyViolation.
        type: float
        default: 600
  deadline:
    description: Global deadline in seconds; when it passes the run stops, reports C(completed=false) and
      fails. A rerun continues where it stopped.
    type: float
    default: 1800
  poll_interval:
    description: Seconds between batched polls.
    type: float
    default: 5
  workers:
    description: Concurrent AWS calls.
    type: int
    default: 8
  allow_disable_deletion_protection:
    description: Disable ELBv2 deletion protection of matched load balancers before deleting them
      (the previous value goes to the audit log). Otherwise they are reported as blockers.
    type: bool
    default: false
  include_unknown_owned:
    description: Also delete resources tagged C(kubernetes.io/cluster/<id>=owned) that carry no controller
      fingerprint (name, description or controller tags) and are not in O(protect_ids).
    type: bool
    default: false
  fail_on_blockers:
    description: Fail when the verify phase finds something that would block destroying the stacks.
    type: bool
    default: true
  audit_dir:
    description: Directory of the audit files C(<UTC timestamp>-<run id>_cleanup_<label>.log), one JSON record a line. Relative paths are
      relative to the current directory (ansible-playbook runs from the repository root, so the default is
      the repository's C(logs/audit)).
    type: path
    default: logs/audit
  run_label:
    description: Label in the audit file name (environment name); defaults to the cluster names.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description:
      - Discovers and plans only; nothing is deleted, revoked or modified. C(plan.to_delete) lists what a real
        run would remove and C(changed) is true when it is not empty. The audit file records the plan.
  diff_mode:
    support: none
    description: No diff is returned; C(plan) (and its C(to_delete)) is the preview, and the audit file keeps it.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Plan the cleanup (nothing is changed)
  org.platform.cluster_cleanup:
    cluster_names: [rke2-dev]
    vpc_id: "{{ network_vpc_id }}"
    expected_account_id: "{{ aws_account_id }}"
    protect_ids: "{{ terraform_state_ids }}"
  check_mode: true

- name: Delete the load balancers before the compute stack goes
  org.platform.cluster_cleanup:
    cluster_names: [rke2-dev]
    vpc_id: "{{ network_vpc_id }}"
    expected_account_id: "{{ aws_account_id }}"
    protect_ids: "{{ terraform_state_ids }}"
    phases: [lb]
"""

RETURN = r"""
check_mode:
  description: Whether this was a check-mode run (plan only).
  returned: always
  type: bool
  sample: false
completed:
  description: False when the global deadline stopped the run (the task then fails; a rerun continues).
  returned: always
  type: bool
  sample: true
stopped_in_phase:
  description: The phase (C(discover), C(lb), C(eni), C(sg), C(verify)) the deadline stopped; empty when completed.
  returned: always
  type: str
  sample: ""
account_id:
  description: The account the credentials belong to (checked against O(expected_account_id)).
  returned: always
  type: str
  sample: "123456789012"
vpc_id:
  description: The VPC cleaned.
  returned: always
  type: str
  sample: vpc-0123456789abcdef0
cluster_names:
  description: The clusters whose leftovers were looked for.
  returned: always
  type: list
  elements: str
  sample: [rke2-dev]
phases:
  description: The phases run (in check mode, planned), in order.
  returned: always
  type: list
  elements: str
  sample: [lb, eni, sg, verify]
plan:
  description: Every matched or skipped resource with the action and the reason, per kind; C(to_delete) lists the IDs
    the selected phases delete; C(skipped) and C(blockers) say why something is left alone.
  returned: always
  type: dict
  contains:
    load_balancers:
      description: Load balancers (ELBv2 and classic) of the VPC.
      type: list
      elements: dict
      returned: always
      contains:
        kind:
          description: C(load_balancer), C(target_group), C(network_interface), C(security_group) or C(sg_rule).
          type: str
          returned: always
          sample: load_balancer
        id:
          description:
            - The resource's id (ARN for ELBv2 resources, name for a classic load balancer).
            - For a rule C(<group>:<direction>:<referenced group>:<protocol>:<from port>-<to port>).
          type: str
          returned: always
          sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef
        action:
          description: C(delete), C(detach_delete), C(wait), C(revoke), C(skip) or C(blocker).
          type: str
          returned: always
          sample: delete
        reason:
          description: Why it matched, or why it is left alone.
          type: str
          returned: always
          sample: tag elbv2.k8s.aws/cluster=rke2-dev (aws-load-balancer-controller)
        name:
          description: Its name, for resources that have one.
          type: str
          returned: when the resource has a name
          sample: k8s-default-web-0123456789
        details:
          description:
            - What the decision was based on, by kind. Load balancers C(type), C(eni_description) (and
              C(disable_deletion_protection)); target groups C(load_balancers); ENIs C(description), C(status),
              C(groups) (and C(instance) or C(load_balancer)); rules C(group_id), C(direction),
              C(referenced_group_id), C(permission).
          type: dict
          returned: when there are any
          sample: {type: network, eni_description: ELB net/a1b2c3/0123456789abcdef}
    target_groups:
      description: Target groups of the VPC.
      type: list
      elements: dict
      returned: always
      contains:
        kind:
          description: C(load_balancer), C(target_group), C(network_interface), C(security_group) or C(sg_rule).
          type: str
          returned: always
          sample: load_balancer
        id:
          description:
            - The resource's id (ARN for ELBv2 resources, name for a classic load balancer).
            - For a rule C(<group>:<direction>:<referenced group>:<protocol>:<from port>-<to port>).
          type: str
          returned: always
          sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef
        action:
          description: C(delete), C(detach_delete), C(wait), C(revoke), C(skip) or C(blocker).
          type: str
          returned: always
          sample: delete
        reason:
          description: Why it matched, or why it is left alone.
          type: str
          returned: always
          sample: tag elbv2.k8s.aws/cluster=rke2-dev (aws-load-balancer-controller)
        name:
          description: Its name, for resources that have one.
          type: str
          returned: when the resource has a name
          sample: k8s-default-web-0123456789
        details:
          description:
            - What the decision was based on, by kind. Load balancers C(type), C(eni_description) (and
              C(disable_deletion_protection)); target groups C(load_balancers); ENIs C(description), C(status),
              C(groups) (and C(instance) or C(load_balancer)); rules C(group_id), C(direction),
              C(referenced_group_id), C(permission).
          type: dict
          returned: when there are any
          sample: {type: network, eni_description: ELB net/a1b2c3/0123456789abcdef}
    network_interfaces:
      description: Network interfaces of the VPC.
      type: list
      elements: dict
      returned: always
      contains:
        kind:
          description: C(load_balancer), C(target_group), C(network_interface), C(security_group) or C(sg_rule).
          type: str
          returned: always
          sample: load_balancer
        id:
          description:
            - The resource's id (ARN for ELBv2 resources, name for a classic load balancer).
            - For a rule C(<group>:<direction>:<referenced group>:<protocol>:<from port>-<to port>).
          type: str
          returned: always
          sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef
        action:
          description: C(delete), C(detach_delete), C(wait), C(revoke), C(skip) or C(blocker).
          type: str
          returned: always
          sample: delete
        reason:
          description: Why it matched, or why it is left alone.
          type: str
          returned: always
          sample: tag elbv2.k8s.aws/cluster=rke2-dev (aws-load-balancer-controller)
        name:
          description: Its name, for resources that have one.
          type: str
          returned: when the resource has a name
          sample: k8s-default-web-0123456789
        details:
          description:
            - What the decision was based on, by kind. Load balancers C(type), C(eni_description) (and
              C(disable_deletion_protection)); target groups C(load_balancers); ENIs C(description), C(status),
              C(groups) (and C(instance) or C(load_balancer)); rules C(group_id), C(direction),
              C(referenced_group_id), C(permission).
          type: dict
          returned: when there are any
          sample: {type: network, eni_description: ELB net/a1b2c3/0123456789abcdef}
    security_groups:
      description: Security groups of the VPC.
      type: list
      elements: dict
      returned: always
      contains:
        kind:
          description: C(load_balancer), C(target_group), C(network_interface), C(security_group) or C(sg_rule).
          type: str
          returned: always
          sample: load_balancer
        id:
          description:
            - The resource's id (ARN for ELBv2 resources, name for a classic load balancer).
            - For a rule C(<group>:<direction>:<referenced group>:<protocol>:<from port>-<to port>).
          type: str
          returned: always
          sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef
        action:
          description: C(delete), C(detach_delete), C(wait), C(revoke), C(skip) or C(blocker).
          type: str
          returned: always
          sample: delete
        reason:
          description: Why it matched, or why it is left alone.
          type: str
          returned: always
          sample: tag elbv2.k8s.aws/cluster=rke2-dev (aws-load-balancer-controller)
        name:
          description: Its name, for resources that have one.
          type: str
          returned: when the resource has a name
          sample: k8s-default-web-0123456789
        details:
          description:
            - What the decision was based on, by kind. Load balancers C(type), C(eni_description) (and
              C(disable_deletion_protection)); target groups C(load_balancers); ENIs C(description), C(status),
              C(groups) (and C(instance) or C(load_balancer)); rules C(group_id), C(direction),
              C(referenced_group_id), C(permission).
          type: dict
          returned: when there are any
          sample: {type: network, eni_description: ELB net/a1b2c3/0123456789abcdef}
    rules:
      description: Security group rules that reference a cleanup candidate.
      type: list
      elements: dict
      returned: always
      contains:
        kind:
          description: C(load_balancer), C(target_group), C(network_interface), C(security_group) or C(sg_rule).
          type: str
          returned: always
          sample: load_balancer
        id:
          description:
            - The resource's id (ARN for ELBv2 resources, name for a classic load balancer).
            - For a rule C(<group>:<direction>:<referenced group>:<protocol>:<from port>-<to port>).
          type: str
          returned: always
          sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef
        action:
          description: C(delete), C(detach_delete), C(wait), C(revoke), C(skip) or C(blocker).
          type: str
          returned: always
          sample: delete
        reason:
          description: Why it matched, or why it is left alone.
          type: str
          returned: always
          sample: tag elbv2.k8s.aws/cluster=rke2-dev (aws-load-balancer-controller)
        name:
          description: Its name, for resources that have one.
          type: str
          returned: when the resource has a name
          sample: k8s-default-web-0123456789
        details:
          description:
            - What the decision was based on, by kind. Load balancers C(type), C(eni_description) (and
              C(disable_deletion_protection)); target groups C(load_balancers); ENIs C(description), C(status),
              C(groups) (and C(instance) or C(load_balancer)); rules C(group_id), C(direction),
              C(referenced_group_id), C(permission).
          type: dict
          returned: when there are any
          sample: {type: network, eni_description: ELB net/a1b2c3/0123456789abcdef}
    to_delete:
      description: What the selected phases remove, by kind (empty lists for kinds whose phase is not selected).
      type: dict
      returned: always
      contains:
        load_balancers:
          description: Load balancers (ARN, or name for a classic one).
          type: list
          elements: str
          returned: always
          sample: [arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef]
        target_groups:
          description: Target group ARNs.
          type: list
          elements: str
          returned: always
          sample: [arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/k8s-default-web-0123456789/0123456789abcdef]
        network_interfaces:
          description: ENI ids.
          type: list
          elements: str
          returned: always
          sample: [eni-0123456789abcdef0]
        security_groups:
          description: Security group ids.
          type: list
          elements: str
          returned: always
          sample: [sg-0123456789abcdef0]
        rules:
          description: Plan ids of the security group rules to revoke (see C(id) above).
          type: list
          elements: str
          returned: always
          sample: ["sg-0123456789abcdef0:ingress:sg-0fedcba9876543210:tcp:443-443"]
    skipped:
      description: The entries of every kind with action C(skip).
      type: list
      elements: dict
      returned: always
      contains:
        kind:
          description: C(load_balancer), C(target_group), C(network_interface), C(security_group) or C(sg_rule).
          type: str
          returned: always
          sample: load_balancer
        id:
          description:
            - The resource's id (ARN for ELBv2 resources, name for a classic load balancer).
            - For a rule C(<group>:<direction>:<referenced group>:<protocol>:<from port>-<to port>).
          type: str
          returned: always
          sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef
        action:
          description: C(delete), C(detach_delete), C(wait), C(revoke), C(skip) or C(blocker).
          type: str
          returned: always
          sample: delete
        reason:
          description: Why it matched, or why it is left alone.
          type: str
          returned: always
          sample: tag elbv2.k8s.aws/cluster=rke2-dev (aws-load-balancer-controller)
        name:
          description: Its name, for resources that have one.
          type: str
          returned: when the resource has a name
          sample: k8s-default-web-0123456789
        details:
          description:
            - What the decision was based on, by kind. Load balancers C(type), C(eni_description) (and
              C(disable_deletion_protection)); target groups C(load_balancers); ENIs C(description), C(status),
              C(groups) (and C(instance) or C(load_balancer)); rules C(group_id), C(direction),
              C(referenced_group_id), C(permission).
          type: dict
          returned: when there are any
          sample: {type: network, eni_description: ELB net/a1b2c3/0123456789abcdef}
    blockers:
      description: The entries of every kind with action C(blocker).
      type: list
      elements: dict
      returned: always
      contains:
        kind:
          description: C(load_balancer), C(target_group), C(network_interface), C(security_group) or C(sg_rule).
          type: str
          returned: always
          sample: load_balancer
        id:
          description:
            - The resource's id (ARN for ELBv2 resources, name for a classic load balancer).
            - For a rule C(<group>:<direction>:<referenced group>:<protocol>:<from port>-<to port>).
          type: str
          returned: always
          sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef
        action:
          description: C(delete), C(detach_delete), C(wait), C(revoke), C(skip) or C(blocker).
          type: str
          returned: always
          sample: delete
        reason:
          description: Why it matched, or why it is left alone.
          type: str
          returned: always
          sample: tag elbv2.k8s.aws/cluster=rke2-dev (aws-load-balancer-controller)
        name:
          description: Its name, for resources that have one.
          type: str
          returned: when the resource has a name
          sample: k8s-default-web-0123456789
        details:
          description:
            - What the decision was based on, by kind. Load balancers C(type), C(eni_description) (and
              C(disable_deletion_protection)); target groups C(load_balancers); ENIs C(description), C(status),
              C(groups) (and C(instance) or C(load_balancer)); rules C(group_id), C(direction),
              C(referenced_group_id), C(permission).
          type: dict
          returned: when there are any
          sample: {type: network, eni_description: ELB net/a1b2c3/0123456789abcdef}
deleted:
  description: IDs deleted, by kind.
  returned: always
  type: dict
  contains:
    load_balancers:
      description: Load balancers (ARN, or name for a classic one).
      type: list
      elements: str
      returned: always
      sample: [arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a1b2c3/0123456789abcdef]
    target_groups:
      description: Target group ARNs.
      type: list
      elements: str
      returned: always
      sample: [arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/k8s-default-web-0123456789/0123456789abcdef]
    network_interfaces:
      description: ENI ids.
      type: list
      elements: str
      returned: always
      sample: [eni-0123456789abcdef0]
    security_groups:
      description: Security group ids.
      type: list
      elements: str
      returned: always
      sample: [sg-0123456789abcdef0]
revoked_rules:
  description: Security group rule IDs revoked (each one's full rule is in the audit file).
  returned: always
  type: list
  elements: str
  sample: [sgr-0123456789abcdef0]
released_network_interfaces:
  description: ENIs of deleted load balancers that AWS released (deleted by AWS, not by this module).
  returned: always
  type: list
  elements: str
  sample: [eni-0123456789abcdef0]
blockers:
  description: Resources the phases could not or may not remove, with the reason.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: C(load_balancer), C(target_group), C(network_interface), C(security_group) or C(sg_rule).
      type: str
      returned: always
      sample: security_group
    id:
      description: The resource's id (ARN or name for load balancers and target groups).
      type: str
      returned: always
      sample: sg-0123456789abcdef0
    reason:
      description: Why it could not or may not be removed.
      type: str
      returned: always
      sample: still used by ENI(s) eni-0123456789abcdef0
    groups:
      description: For an ENI, the security groups it holds.
      type: list
      elements: str
      returned: for some network_interface blockers
      sample: [sg-0123456789abcdef0]
    enis:
      description: For a security group, the ENIs that still use it.
      type: list
      elements: str
      returned: for security groups still in use
      sample: [eni-0123456789abcdef0]
    rules:
      description: For an C(sg_rule) blocker (C(id) is the group holding them), the rule ids whose revoke failed.
      type: list
      elements: str
      returned: for rules whose revoke failed
      sample: [sgr-0123456789abcdef0]
verify:
  description: What would stop terraform destroy of the security and network stacks; empty when the verify phase did not
    run (not selected, check mode, or the deadline passed first).
  returned: always
  type: dict
  contains:
    ok:
      description: Nothing blocks the destroy.
      type: bool
      returned: when the verify phase ran
      sample: true
    blockers:
      description: What blocks it.
      type: list
      elements: dict
      returned: when the verify phase ran
      contains:
        kind:
          description: C(load_balancer), C(target_group), C(security_group), C(sg_rule) or C(network_interface).
          type: str
          returned: always
          sample: network_interface
        id:
          description: The resource's id (C(<sg>-><stack sg>) for a rule).
          type: str
          returned: always
          sample: eni-0123456789abcdef0
        blocks:
          description: The stack whose destroy it blocks, C(security) or C(network).
          type: str
          returned: always
          sample: network
        reason:
          description: What it is.
          type: str
          returned: always
          sample: "ENI 'ELB net/a1b2c3/0123456789abcdef' (in-use) in the VPC"
stats:
  description: AWS calls, retries and errors, and seconds per phase, of this run.
  returned: always
  type: dict
  contains:
    api_calls:
      description: AWS API calls made (attempts, retries included).
      type: int
      returned: always
      sample: 42
    api_calls_by_operation:
      description: Calls per C(<service>:<operation>).
      type: dict
      returned: always
      sample: {"ec2:describe_network_interfaces": 3, "sts:get_caller_identity": 1}
    retries:
      description: Retries botocore's standard retry mode made.
      type: int
      returned: always
      sample: 0
    throttled:
      description: Throttling errors received.
      type: int
      returned: always
      sample: 0
    dependency_violations:
      description: C(DependencyViolation) errors received (security groups still in use, retried).
      type: int
      returned: always
      sample: 1
    errors_by_code:
      description: AWS error responses per error code.
      type: dict
      returned: always
      sample: {DependencyViolation: 1}
    seconds:
      description: Wall time of the run.
      type: float
      returned: always
      sample: 12.345
    phase_seconds:
      description: Seconds per phase (C(discover), C(lb), C(eni), C(sg), C(verify)) that ran.
      type: dict
      returned: always
      sample: {discover: 0.412, lb: 8.1, eni: 2.3, sg: 1.2, verify: 0.3}
    deleted_resources:
      description: Resources deleted (all kinds).
      type: int
      returned: always
      sample: 6
    revoked_rules:
      description: Security group rules revoked.
      type: int
      returned: always
      sample: 1
audit_file:
  description: The JSON-lines audit file of this run; empty when the run stopped before opening it.
  returned: always
  type: str
  sample: logs/audit/20261202T083000Z-3f9a1c_cleanup_dev.log
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.org.platform.plugins.module_utils._aws import fail_json_aws_from, module_client
from ansible_collections.org.platform.plugins.module_utils._cleanup import (
    PHASES,
    CleanupError,
    ClusterCleanup,
    options_from_params,
)


def main() -> None:
    argument_spec = dict(
        cluster_names=dict(type="list", elements="str", required=True),
        vpc_id=dict(type="str", required=True),
        expected_account_id=dict(type="str", required=True),
        protect_ids=dict(type="list", elements="str", default=[]),
        phases=dict(type="list", elements="str", choices=list(PHASES), default=list(PHASES)),
        timeouts=dict(
            type="dict",
            default={},
            options=dict(
                lb=dict(type="float", default=600),
                eni=dict(type="float", default=600),
                sg=dict(type="float", default=600),
            ),
        ),
        deadline=dict(type="float", default=1800),
        poll_interval=dict(type="float", default=5),
        workers=dict(type="int", default=8),
        allow_disable_deletion_protection=dict(type="bool", default=False),
        include_unknown_owned=dict(type="bool", default=False),
        fail_on_blockers=dict(type="bool", default=True),
        audit_dir=dict(type="path", default="logs/audit"),
        run_label=dict(type="str", default=""),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    workers = p["workers"]
    try:
        options = options_from_params(p, module.check_mode)
        # The collection's one retry policy (module_utils/_aws.py), counted and bounded by the deadline.
        result = ClusterCleanup(
            options, lambda service: module_client(module, service, max_pool_connections=workers + 4)
        ).run()
    except CleanupError as exc:
        fail_json_aws_from(module, exc, **exc.result)
    if not result["completed"]:
        module.fail_json(
            msg=f"global deadline of {p['deadline']}s passed in phase {result['stopped_in_phase']}; rerun to finish",
            **result,
        )
    if result["verify"] and not result["verify"]["ok"] and p["fail_on_blockers"]:
        module.fail_json(
            msg=f"verify: {len(result['verify']['blockers'])} blocker(s) would stop terraform destroy", **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
