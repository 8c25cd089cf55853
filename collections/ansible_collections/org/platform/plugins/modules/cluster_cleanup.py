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
author: org.platform
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
    description: Directory of the audit files C(<UTC timestamp>_<label>_cleanup.jsonl). Relative paths are
      relative to the current directory (ansible-playbook runs from the repository root, so the default is
      the repository's C(logs/audit)).
    type: path
    default: logs/audit
  run_label:
    description: Label in the audit file name (environment name); defaults to the cluster names.
    type: str
    default: ""
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
plan:
  description: Every matched or skipped resource with the action and the reason; C(to_delete) lists the IDs
    apply deletes; C(skipped) and C(blockers) say why something is left alone.
  returned: always
  type: dict
deleted:
  description: IDs deleted, by kind (load_balancers, target_groups, network_interfaces, security_groups).
  returned: always
  type: dict
revoked_rules:
  description: Security group rule IDs revoked (each one's full rule is in the audit file).
  returned: always
  type: list
blockers:
  description: Resources that could not or may not be removed, with the reason.
  returned: always
  type: list
verify:
  description: C(ok) and the C(blockers) that would stop terraform destroy of the security and network stacks.
  returned: when the verify phase ran
  type: dict
stats:
  description: API calls (total and per operation), throttling retries, DependencyViolation count, seconds per phase.
  returned: always
  type: dict
completed:
  description: False when the global deadline stopped the run.
  returned: always
  type: bool
audit_file:
  description: The JSON-lines audit file of this run.
  returned: always
  type: str
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
