# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plan_gate + policy/*.rego on plans that need the AWS provider.

These plan JSONs are HAND-MADE: the AWS provider cannot be installed here, so no engine can plan an
aws_* resource. They follow Terraform's plan JSON format (format_version 1.2, resource_changes with
before/after, after_unknown, before_sensitive/after_sensitive, action_reason). The action shapes of the
protected policy, forget, and the sandbox twins are planned by the real engine in
tests/integration/test_plan_gate_engine.py.
"""

from __future__ import annotations

import copy
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils import plan_gate
from ansible_collections.org.platform.plugins.module_utils.plan_cost import PriceTable
from ansible_collections.org.platform.plugins.module_utils.plan_gate import PlanGate, PolicyError

from sandbox.pytest_plugin import REPO_ROOT

POLICY_DIR = REPO_ROOT / "policy"
TODAY = datetime.date(2026, 12, 2)
TAGS = {
    "Environment": "dev",
    "Service": "platform",
    "Team": "platform",
    "Owner": "platform-team@example.com",
    "CostCenter": "platform-dev",
    "ManagedBy": "terraform",
}
CANARY = "canary-Zq7xK3p9-secret"


def change(address: str, after: dict[str, Any] | None, before: dict[str, Any] | None = None, **extra: Any) -> dict:
    """One resource_changes entry in Terraform's format (root module unless the address says otherwise)."""
    actions = extra.pop("actions", None) or (["create"] if before is None else ["update"])
    parts = address.split(".")
    module = ".".join(parts[:-2]) if len(parts) > 2 else None
    entry = {
        "address": address,
        "mode": "managed",
        "type": parts[-2],
        "name": parts[-1].split("[")[0],
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": {"id": True, "arn": True} if after is not None else {},
            "before_sensitive": extra.pop("before_sensitive", False if before is None else {}),
            "after_sensitive": extra.pop("after_sensitive", False if after is None else {}),
        },
    }
    if module:
        entry["module_address"] = module
    entry.update(extra)
    return entry


def tagged(name_tag: str, /, **values: Any) -> dict[str, Any]:
    tags = {**TAGS, "Name": name_tag}
    return {**values, "tags": tags, "tags_all": dict(tags)}


def plan(*changes: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.15.5",
        "planned_values": {"root_module": {}},
        "resource_changes": list(changes),
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "expressions": {"region": {"constant_value": region}}}}
        },
        "applyable": True,
        "complete": True,
        "errored": False,
    }


def compliant_changes() -> list[dict[str, Any]]:
    """A stack that follows every policy: instance, RDS, bucket, SGs, an internet-facing LB on 443, a key."""
    return [
        change(
            "module.bastion.aws_instance.this",
            tagged(
                "dev-platform-bastion",
                instance_type="t3.micro",
                root_block_device=[{"encrypted": True, "volume_size": 20, "volume_type": "gp3"}],
            ),
        ),
        change(
            "aws_db_instance.this",
            tagged(
                "dev-platform-db",
                identifier="dev-platform-db",
                instance_class="db.t3.medium",
                allocated_storage=20,
                storage_type="gp3",
                storage_encrypted=True,
                publicly_accessible=False,
                multi_az=False,
            ),
        ),
        change("aws_s3_bucket.registry", tagged("dev-platform-registry", bucket="dev-platform-registry-123")),
        change(
            "aws_s3_bucket_public_access_block.registry",
            {
                "block_public_acls": True,
                "block_public_policy": True,
                "ignore_public_acls": True,
                "restrict_public_buckets": True,
            },
        ),
        change("aws_s3_bucket_server_side_encryption_configuration.registry", {"rule": [{}]}),
        change("module.lb_sg.aws_security_group.this", tagged("dev-platform-lb", name="dev-platform-lb")),
        change(
            'module.lb_sg.aws_vpc_security_group_ingress_rule.this["https"]',
            {
                **tagged("dev-platform-lb-in-https", ip_protocol="tcp", from_port=443, to_port=443),
                "cidr_ipv4": "0.0.0.0/0",
                "tags": {**TAGS, "Name": "dev-platform-lb-in-https", "Exposure": "public-lb"},
                "tags_all": {**TAGS, "Name": "dev-platform-lb-in-https", "Exposure": "public-lb"},
            },
        ),
        change(
            'module.app_sg.aws_vpc_security_group_ingress_rule.this["http_from_lb"]',
            tagged(
                "dev-platform-app-in-http",
                ip_protocol="tcp",
                from_port=8080,
                to_port=8080,
                referenced_security_group_id="sg-0123",
            ),
        ),
        change("aws_lb.this", tagged("dev-platform-harbor", name="dev-platform-harbor", internal=False)),
        change("aws_kms_key.this", tagged("dev-platform-rds-key", enable_key_rotation=True)),
    ]


@pytest.fixture(scope="module")
def gate() -> PlanGate:
    return PlanGate(POLICY_DIR)


def denied(result: plan_gate.GateResult) -> set[tuple[str, str]]:
    return {(finding.rule, finding.address) for finding in result.denies}


def test_compliant_plan_passes(gate: PlanGate) -> None:
    result = gate.evaluate(plan(*compliant_changes()), stack="test", environment="dev", today=TODAY)
    assert result.denies == []
    assert result.warns == []
    assert result.passed


def _with(address: str, **values: Any) -> list[dict[str, Any]]:
    changes = compliant_changes()
    target = next(entry for entry in changes if entry["address"] == address)
    after = target["change"]["after"]
    for key, value in values.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    return changes


def _tag(address: str, key: str, value: str | None) -> list[dict[str, Any]]:
    changes = compliant_changes()
    after = next(entry for entry in changes if entry["address"] == address)["change"]["after"]
    for tags in (after["tags"], after["tags_all"]):
        if value is None:
            tags.pop(key)
        else:
            tags[key] = value
    return changes


SG_RULE = 'module.lb_sg.aws_vpc_security_group_ingress_rule.this["https"]'
APP_RULE = 'module.app_sg.aws_vpc_security_group_ingress_rule.this["http_from_lb"]'
VIOLATIONS = {
    "tags-missing": ("tags", "aws_kms_key.this", lambda: _tag("aws_kms_key.this", "CostCenter", None)),
    "tags-owner-format": ("tags", "aws_lb.this", lambda: _tag("aws_lb.this", "Owner", "platform team")),
    "tags-environment-format": ("tags", "aws_lb.this", lambda: _tag("aws_lb.this", "Environment", "Dev")),
    "tags-managed-by": ("tags", "aws_lb.this", lambda: _tag("aws_lb.this", "ManagedBy", "console")),
    "naming-name-tag": ("naming", "aws_kms_key.this", lambda: _tag("aws_kms_key.this", "Name", "rds-key")),
    "naming-attribute": ("naming", "aws_db_instance.this", lambda: _with("aws_db_instance.this", identifier="db1")),
    "naming-other-env": ("naming", "aws_lb.this", lambda: _with("aws_lb.this", name="prod-platform-harbor")),
    "sg-open-ssh": ("security-groups", APP_RULE, lambda: _with(APP_RULE, cidr_ipv4="0.0.0.0/0", from_port=22, to_port=22, referenced_security_group_id=None)),
    "sg-open-ipv6": ("security-groups", APP_RULE, lambda: _with(APP_RULE, cidr_ipv6="::/0", referenced_security_group_id=None)),
    "sg-lb-not-public": ("security-groups", SG_RULE, lambda: _with("aws_lb.this", internal=True)),
    "sg-lb-other-port": ("security-groups", SG_RULE, lambda: _with(SG_RULE, from_port=8443, to_port=8443)),
    "sg-all-protocols": ("security-groups", APP_RULE, lambda: _with(APP_RULE, cidr_ipv4="10.0.0.0/16", ip_protocol="-1", referenced_security_group_id=None)),
    "sg-port-range": ("security-groups", APP_RULE, lambda: _with(APP_RULE, cidr_ipv4="10.0.0.0/16", to_port=9000, referenced_security_group_id=None)),
    "public-bucket-block": ("public-resources", "aws_s3_bucket_public_access_block.registry",
                            lambda: _with("aws_s3_bucket_public_access_block.registry", restrict_public_buckets=False)),
    "public-bucket-acl": ("public-resources", "aws_s3_bucket.registry", lambda: _with("aws_s3_bucket.registry", acl="public-read")),
    "public-rds": ("public-resources", "aws_db_instance.this", lambda: _with("aws_db_instance.this", publicly_accessible=True)),
    "encryption-rds": ("encryption", "aws_db_instance.this", lambda: _with("aws_db_instance.this", storage_encrypted=False)),
    "encryption-root-volume": ("encryption", "module.bastion.aws_instance.this",
                               lambda: _with("module.bastion.aws_instance.this", root_block_device=[{"encrypted": False, "volume_size": 20}])),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_violation_is_denied_with_the_address(gate: PlanGate, case: str) -> None:
    rule, address, make = VIOLATIONS[case]
    result = gate.evaluate(plan(*make()), stack="test", environment="dev", today=TODAY)
    assert (rule, address) in denied(result), result.as_dict()
    assert {finding.rule for finding in result.denies} == {rule}, result.as_dict()
    assert not result.passed
    finding = next(item for item in result.denies if item.address == address)
    assert finding.message.startswith(f"[{rule}] {address}: ")


def test_environment_tag_must_match_the_run(gate: PlanGate) -> None:
    result = gate.evaluate(plan(*compliant_changes()), stack="test", environment="stg", today=TODAY)
    assert ("tags", "aws_lb.this") in denied(result)


def test_new_bucket_without_block_or_encryption_warns(gate: PlanGate) -> None:
    changes = [
        entry
        for entry in compliant_changes()
        if not entry["address"].startswith(("aws_s3_bucket_public", "aws_s3_bucket_server"))
    ]
    result = gate.evaluate(plan(*changes), today=TODAY)
    assert result.denies == []
    assert {(finding.rule, finding.address) for finding in result.warns} == {
        ("public-resources", "aws_s3_bucket.registry"),
        ("encryption", "aws_s3_bucket.registry"),
    }


@pytest.mark.parametrize(
    ("actions", "reason"),
    [(["delete", "create"], "replace_because_cannot_update"), (["create", "delete"], "replace_by_request"), (["delete"], None)],
)  # fmt: skip
@pytest.mark.parametrize("resource", ["aws_db_instance.this", "aws_kms_key.this", "aws_s3_bucket.state"])
def test_protected_aws_resource_destroyed_in_every_shape_is_denied(
    gate: PlanGate, actions: list[str], reason: str | None, resource: str
) -> None:
    before = tagged("dev-platform-x", bucket="acme-terraform-state-123456789012", identifier="dev-platform-db")
    after = None if actions == ["delete"] else before
    extra = {"action_reason": reason} if reason else {}
    result = gate.evaluate(plan(change(resource, after, before, actions=actions, **extra)), today=TODAY)
    assert ("protected", resource) in denied(result)
    overridden = gate.evaluate(
        plan(change(resource, after, before, actions=actions, **extra)), protected_overrides=[resource], today=TODAY
    )
    assert ("protected", resource) not in denied(overridden)
    assert ("protected", resource) in {(item.rule, item.address) for item in overridden.warns}


def test_ordinary_bucket_delete_is_not_protected(gate: PlanGate) -> None:
    before = tagged("dev-platform-logs", bucket="dev-platform-logs")
    result = gate.evaluate(plan(change("aws_s3_bucket.logs", None, before, actions=["delete"])), today=TODAY)
    assert result.denies == []


def test_forget_of_a_protected_resource_is_not_a_delete(gate: PlanGate) -> None:
    before = tagged("dev-platform-db", identifier="dev-platform-db")
    entry = change(
        "aws_db_instance.this", None, before, actions=["forget"], action_reason="delete_because_no_resource_config"
    )
    result = gate.evaluate(plan(entry), today=TODAY)
    assert result.denies == []
    assert [(item.rule, item.address) for item in result.warns] == [("protected", "aws_db_instance.this")]


def test_sensitive_values_never_reach_a_finding(gate: PlanGate) -> None:
    changes = _tag("aws_lb.this", "Name", CANARY)
    target = next(entry for entry in changes if entry["address"] == "aws_lb.this")
    target["change"]["after"]["name"] = CANARY
    target["change"]["after_sensitive"] = {"tags": {"Name": True}, "tags_all": {"Name": True}, "name": True}
    secret_plan = plan(*changes)
    secret_plan["output_changes"] = {
        "token": {
            "actions": ["create"],
            "before": None,
            "after": CANARY,
            "after_sensitive": True,
            "before_sensitive": False,
        }
    }
    result = gate.evaluate(secret_plan, stack="test", environment="dev", today=TODAY)
    assert ("naming", "aws_lb.this") in denied(result)  # the placeholder is not a valid name either
    text = json.dumps(result.as_dict())
    assert CANARY not in text
    assert CANARY in json.dumps(secret_plan)  # the caller's plan is left as it was


def test_scrub_catches_a_policy_that_echoes_a_value(tmp_path: Path) -> None:
    (tmp_path / "echo.rego").write_text(
        "package main\nimport rego.v1\n"
        'deny contains {"rule": "echo", "address": rc.address, "reason": concat(" ", ["value", rc.change.before.password])} if {\n'
        "\tsome rc in input.resource_changes\n\trc.change.before.password\n}\n"
    )
    masked_plan = plan(
        change("aws_db_instance.x", None, {"password": CANARY}, actions=["delete"], before_sensitive={"password": True})
    )
    result = PlanGate(tmp_path).evaluate(masked_plan, today=TODAY)
    assert result.denies[0].reason == f"value {plan_gate.SENSITIVE_PLACEHOLDER}"
    secrets = plan_gate.mask_plan(masked_plan)[1]
    assert plan_gate.scrub(f"x {CANARY} y", secrets) == f"x {plan_gate.SENSITIVE_PLACEHOLDER} y"


# ------------------------------------------------------------------------------------------- waivers


def _policy_copy(tmp_path: Path, waivers: list[dict[str, Any]] | str) -> Path:
    for source in POLICY_DIR.iterdir():
        if source.suffix in (".rego", ".yml"):
            (tmp_path / source.name).write_text(source.read_text())
    text = waivers if isinstance(waivers, str) else yaml.safe_dump({"waivers": waivers})
    (tmp_path / "waivers.yml").write_text(text)
    return tmp_path


def _waiver(**overrides: Any) -> dict[str, Any]:
    return {
        "rule": "naming",
        "address": "aws_kms_key.*",
        "reason": "legacy key name",
        "owner": "platform-team@example.com",
        "expires": "2027-01-31",
        **overrides,
    }


def test_valid_waiver_moves_the_finding_to_waived(tmp_path: Path) -> None:
    waived_gate = PlanGate(_policy_copy(tmp_path, [_waiver()]))
    result = waived_gate.evaluate(plan(*_tag("aws_kms_key.this", "Name", "rds-key")), today=TODAY)
    assert result.denies == []
    assert [(item.rule, item.address) for item in result.waived] == [("naming", "aws_kms_key.this")]
    assert "platform-team@example.com until 2027-01-31" in result.waived[0].waiver


def test_expired_waiver_is_a_deny(tmp_path: Path) -> None:
    waived_gate = PlanGate(_policy_copy(tmp_path, [_waiver(expires="2026-12-01")]))
    result = waived_gate.evaluate(plan(*_tag("aws_kms_key.this", "Name", "rds-key")), today=TODAY)
    assert denied(result) == {("waiver-expired", "aws_kms_key.this")}
    assert "expired on 2026-12-01" in result.denies[0].reason
    assert result.waived == []


def test_waiver_is_valid_on_its_last_day_and_per_stack(tmp_path: Path) -> None:
    waived_gate = PlanGate(_policy_copy(tmp_path, [_waiver(expires="2026-12-02", stack="05-kms")]))
    violating = plan(*_tag("aws_kms_key.this", "Name", "rds-key"))
    assert waived_gate.evaluate(violating, stack="05-kms", today=TODAY).passed
    assert not waived_gate.evaluate(violating, stack="60-db", today=TODAY).passed


def test_unused_expired_waiver_warns(tmp_path: Path) -> None:
    waived_gate = PlanGate(_policy_copy(tmp_path, [_waiver(expires="2026-01-01")]))
    result = waived_gate.evaluate(plan(*compliant_changes()), today=TODAY)
    assert result.denies == []
    assert [(item.rule, item.address) for item in result.warns] == [("waiver-expired", "aws_kms_key.*")]


@pytest.mark.parametrize(
    ("waivers", "message"),
    [
        ([_waiver(expires="next year")], "is not a date"),
        ([{k: v for k, v in _waiver().items() if k != "owner"}], "missing keys ['owner']"),
        ([_waiver(approver="me")], "unknown keys ['approver']"),
        ([_waiver(reason="  ")], "reason must be a non-empty string"),
        ("waivers: {a: 1}\n", "expected a mapping with a list"),
        ("waivers: [\n", "cannot read the waivers"),
    ],
)
def test_broken_waivers_raise_policy_error(tmp_path: Path, waivers: Any, message: str) -> None:
    with pytest.raises(PolicyError, match="waivers") as error:
        PlanGate(_policy_copy(tmp_path, waivers))
    assert message in str(error.value)


def test_repository_waivers_cover_the_shared_rds_names(gate: PlanGate) -> None:
    rds = change(
        "aws_db_instance.this", tagged("dev-shared-mysql", identifier="dev-shared-mysql", storage_encrypted=True)
    )
    sg = change("module.db_sg.aws_security_group.this", tagged("dev-shared-mysql-sg", name="dev-shared-mysql-sg"))
    result = gate.evaluate(plan(rds, sg), stack="60-db", today=TODAY)
    assert result.denies == []
    assert {item.address for item in result.waived} == {"aws_db_instance.this", "module.db_sg.aws_security_group.this"}
    assert not gate.evaluate(plan(rds, sg), stack="40-bastion", today=TODAY).passed


# ----------------------------------------------------------------------------------- broken policies


def test_broken_policy_is_a_clear_error_and_prints_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.rego").write_text("package main\nimport rego.v1\ndeny contains msg if { msg := }\n")
    with pytest.raises(PolicyError, match=r"bad\.rego: the policy does not compile") as error:
        PlanGate(tmp_path)
    assert "Invalid assignment" in str(error.value)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_policy_results_must_be_findings(tmp_path: Path) -> None:
    (tmp_path / "strings.rego").write_text('package main\nimport rego.v1\ndeny contains "plain string" if true\n')
    with pytest.raises(PolicyError, match=r"finding\(rule, address, reason\)"):
        PlanGate(tmp_path).evaluate(plan())


@pytest.mark.parametrize("directory", ["missing", "empty"])
def test_policy_directory_problems(tmp_path: Path, directory: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PolicyError, match=r"does not exist|no \*\.rego"):
        PlanGate(tmp_path / directory)


def test_not_a_plan_is_a_policy_error(gate: PlanGate) -> None:
    with pytest.raises(PolicyError, match="not the JSON of"):
        gate.evaluate({"resource_changes": "nope"})


# ----------------------------------------------------------------------------------------------- cost


def _instances(count: int, instance_type: str = "t3.large", before: bool = True) -> list[dict[str, Any]]:
    values = tagged(
        "dev-platform-node",
        instance_type=instance_type,
        root_block_device=[{"encrypted": True, "volume_size": 50, "volume_type": "gp3"}],
    )
    if before:
        return [change(f'aws_instance.node["{i}"]', values, values, actions=["no-op"]) for i in range(count)]
    return [change(f'aws_instance.node["{i}"]', values) for i in range(count)]


@pytest.mark.parametrize(("added", "severity"), [(0, None), (1, "warn"), (2, "deny")])
def test_cost_delta_warns_and_denies(gate: PlanGate, added: int, severity: str | None) -> None:
    # 5 existing nodes, then +1 (+20 %) or +2 (+40 %)
    changes = _instances(5) + [change(f'aws_instance.node["new{i}"]', _instances(1, before=False)[0]["change"]["after"]) for i in range(added)]  # fmt: skip
    result = gate.evaluate(plan(*changes), region="us-east-1", today=TODAY)
    assert result.cost is not None
    assert result.cost.severity == severity
    cost_findings = [item for item in result.denies + result.warns if item.rule == "cost"]
    assert [item.severity for item in cost_findings] == ([severity] if severity else [])
    node = 0.0832 * 730 + 50 * 0.08
    assert result.cost.before == pytest.approx(5 * node)
    assert result.cost.after == pytest.approx((5 + added) * node)


def test_cost_thresholds_are_configurable(gate: PlanGate) -> None:
    changes = [*_instances(5), change('aws_instance.node["new"]', _instances(1, before=False)[0]["change"]["after"])]
    result = gate.evaluate(plan(*changes), region="us-east-1", cost_warn_percent=25, cost_deny_percent=50)
    assert result.cost.severity is None
    result = gate.evaluate(plan(*changes), region="us-east-1", cost_warn_percent=5, cost_deny_percent=15)
    assert result.cost.severity == "deny"
    with pytest.raises(PolicyError, match="thresholds"):
        gate.evaluate(plan(*changes), cost_warn_percent=40, cost_deny_percent=30)


def test_cost_report_top_lines_and_regions(gate: PlanGate) -> None:
    db_before = tagged("dev-platform-db", instance_class="db.t3.medium", allocated_storage=20, storage_type="gp3", storage_encrypted=True)  # fmt: skip
    db_after = {**db_before, "instance_class": "db.m5.large", "multi_az": True}
    changes = [change("aws_db_instance.this", db_after, db_before), *_instances(1)]
    seoul = gate.evaluate(plan(*changes, region="ap-northeast-2"), today=TODAY).cost
    virginia = gate.evaluate(plan(*changes), today=TODAY).cost
    assert seoul.region == "ap-northeast-2"
    assert seoul.after > virginia.after
    assert virginia.top_lines()[0].address == "aws_db_instance.this"
    assert virginia.lines[0].after == pytest.approx(2 * (0.171 * 730 + 20 * 0.115))
    assert "aws_db_instance.this" in virginia.summary()
    assert virginia.severity == "deny"


def test_new_stack_has_no_percentage(gate: PlanGate) -> None:
    result = gate.evaluate(plan(*compliant_changes()), today=TODAY)
    assert result.cost.before == 0
    assert result.cost.after > 0
    assert result.cost.severity is None


def test_unknown_region_or_size(gate: PlanGate) -> None:
    with pytest.raises(PolicyError, match="no prices for region eu-west-9"):
        gate.evaluate(plan(*_instances(1), region="eu-west-9"))
    result = gate.evaluate(plan(*_instances(1, instance_type="x9.huge")), today=TODAY)
    assert result.cost.unpriced == ['aws_instance.node["0"] (before)', 'aws_instance.node["0"] (after)']


def test_every_size_in_the_inventories_is_priced() -> None:
    prices = PriceTable.load(POLICY_DIR / "prices.yml")
    missing = []
    for inventory in sorted((REPO_ROOT / "inventories").iterdir()):
        main = yaml.safe_load((inventory / "group_vars" / "all" / "main.yml").read_text())
        region = main["platform_region"]
        if region not in prices.regions:
            missing.append(f"{inventory.name}: region {region}")
            continue
        stacks = yaml.safe_load((inventory / "group_vars" / "all" / "stacks.yml").read_text())["terraform_stack_vars"]
        for stack, values in stacks.items():
            for key, value in values.items():
                table = "aws_db_instance_hour" if key == "instance_class" else "aws_instance_hour"
                if key.endswith(("instance_type", "instance_class")) and value not in prices.regions[region][table]:
                    missing.append(f"{inventory.name} {stack}.{key}={value} in {region}")
    assert missing == []
    assert "us-east-1" in prices.regions


def test_broken_price_table(tmp_path: Path) -> None:
    document = yaml.safe_load((POLICY_DIR / "prices.yml").read_text())
    broken = copy.deepcopy(document)
    del broken["regions"]["us-east-1"]["aws_kms_key_month"]
    policy = _policy_copy(tmp_path, [])
    (policy / "prices.yml").write_text(yaml.safe_dump(broken))
    with pytest.raises(PolicyError, match=r"regions\.us-east-1 lacks \['aws_kms_key_month'\]"):
        PlanGate(policy)
