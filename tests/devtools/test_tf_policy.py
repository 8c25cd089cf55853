# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""House rules: each fails on its deliberately broken fixture, and on small variants, and passes good HCL.

Rules still in devtools/tf_policy.py run in-process; the rules that moved to checkov
(devtools/checkov_scan.RULE_CHECKS: built-in checks plus devtools/checkov_policies) run through the real
checkov, once for all their fixtures and variants (checkov takes 15-20 s to start).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from devtools import checkov_scan, tf_policy
from devtools.tf_static import check_references, load_module
from sandbox.pytest_plugin import REPO_ROOT

BROKEN = REPO_ROOT / "tests" / "devtools" / "fixtures" / "tf_broken"
COMMON_TAGS = REPO_ROOT / "terraform" / "modules" / "common-tags"
SECURITY_GROUP = REPO_ROOT / "terraform" / "modules" / "security-group"

# Every broken fixture breaks its own rule, at these addresses, and no other rule.
EXPECTED_BROKEN = {
    "db-route-table-no-default-route": {"aws_route.db_nat"},
    "endpoint-sg-https-from-vpc-only": {"aws_security_group.endpoints.ingress"},
    "identity-only-ingress": {"module.db_sg.ingress_rules[mysql_from_private_tier]"},
    "required-tags": {"aws_subnet.untagged", "aws_internet_gateway.hand_tagged"},
    "encryption-at-rest": {"aws_instance.node", "aws_secretsmanager_secret.master", "aws_s3_bucket.plain"},
    "no-open-ingress": {"aws_vpc_security_group_ingress_rule.ssh_anywhere"},
    "no-public-data-stores": {"aws_db_instance.public", "aws_s3_bucket.open"},
}


def test_module_paths_exist() -> None:
    assert (COMMON_TAGS / "variables.tf").is_file()
    assert (SECURITY_GROUP / "variables.tf").is_file()


def test_every_rule_has_a_broken_fixture() -> None:
    assert not set(tf_policy.RULES) & set(checkov_scan.RULE_CHECKS), "one scanner per rule"
    assert set(EXPECTED_BROKEN) == set(tf_policy.RULES) | set(checkov_scan.RULE_CHECKS)
    assert {path.name for path in BROKEN.iterdir() if path.is_dir()} == set(EXPECTED_BROKEN)


def checkov_findings(results: list[checkov_scan.Result], directory: Path) -> dict[str, set[str]]:
    """rule -> failed addresses, for the checkov-enforced rules, in one scanned directory."""
    found: dict[str, set[str]] = {}
    for result in results:
        if result.status != "failed" or result.directory != directory.resolve():
            continue
        for rule, checks in checkov_scan.RULE_CHECKS.items():
            if result.check_id in checks:
                print(f"{rule}: {result.check_id} {result.resource} ({result.name})")
                found.setdefault(rule, set()).add(result.resource)
    return found


@pytest.mark.parametrize("rule", sorted(EXPECTED_BROKEN))
def test_rule_fails_on_its_broken_fixture(
    rule: str, checkov_results: list[checkov_scan.Result], variants_root: Path
) -> None:
    module = load_module(BROKEN / rule)
    assert check_references(module) == [], "the fixture itself must be well formed"
    findings = tf_policy.check_policies(module)
    for finding in findings:
        print(finding)
    found = {f.rule: set() for f in findings}
    for finding in findings:
        found[finding.rule].add(finding.address)
    scanned = checkov_findings(checkov_results, variants_root / BROKEN.name / rule)
    assert not set(found) & set(scanned)
    found.update(scanned)
    assert found.get(rule) == EXPECTED_BROKEN[rule]
    assert set(found) == {rule}, "a fixture must break only its own rule"


# --------------------------------------------------------------------------------------------------
# Variants written inline: a header makes each snippet a stack (provider + common-tags).
# --------------------------------------------------------------------------------------------------


def stack(tmp_path: Path, body: str, root: bool = True) -> Path:
    header = (
        textwrap.dedent(
            f"""
            provider "aws" {{
              region = "us-east-1"
              default_tags {{
                tags = var.tags
              }}
            }}
            variable "tags" {{
              type = map(string)
            }}
            module "tags" {{
              source = "{COMMON_TAGS}"
              tags   = var.tags
            }}
            """
        )
        if root
        else 'variable "tags" {\n  type = map(string)\n}\n'
    )
    (tmp_path / "main.tf").write_text(header + textwrap.dedent(body))
    return tmp_path


def findings_of(tmp_path: Path, rule: str, body: str, root: bool = True) -> list[str]:
    module = load_module(stack(tmp_path, body, root))
    return [f"{f.address}: {f.message}" for f in tf_policy.RULES[rule](module)]


DB_TABLE = """
    resource "aws_route_table" "db" {
      vpc_id = "vpc-1"
      tags   = module.tags.tags
    %s
    }
    resource "aws_subnet" "db" {
      vpc_id     = "vpc-1"
      cidr_block = "10.0.64.0/24"
      tags       = module.tags.tags
    }
    resource "aws_route_table" "private" {
      vpc_id = "vpc-1"
      tags   = module.tags.tags
    }
    resource "aws_route_table_association" "db" {
      subnet_id      = aws_subnet.db.id
      route_table_id = aws_route_table.%s.id
    }
    """


@pytest.mark.parametrize(
    ("inline_route", "associated", "bad"),
    [
        ("", "db", False),
        ('  route {\n    cidr_block = "10.1.0.0/16"\n    vpc_peering_connection_id = "pcx-1"\n  }', "db", False),
        ('  route {\n    cidr_block = "0.0.0.0/0"\n    nat_gateway_id = "nat-1"\n  }', "db", True),
        ('  route {\n    cidr_block = "10.9.0.0/16"\n    gateway_id = "igw-1"\n  }', "db", True),
        ("", "private", True),
    ],
    ids=["local-only", "peering", "inline-nat", "inline-igw", "db-subnet-on-private-table"],
)
def test_db_route_table_variants(tmp_path: Path, inline_route: str, associated: str, bad: bool) -> None:
    findings = findings_of(tmp_path, "db-route-table-no-default-route", DB_TABLE % (inline_route, associated))
    assert bool(findings) is bad, findings


ENDPOINT = """
    resource "aws_vpc" "this" {
      cidr_block = "10.0.0.0/16"
      tags       = module.tags.tags
    }
    module "endpoint_sg" {
      source      = "%s"
      name        = "endpoints"
      description = "endpoints"
      vpc_id      = aws_vpc.this.id
      tags        = module.tags.tags
      ingress_rules = %s
    }
    resource "aws_vpc_endpoint" "ssm" {
      vpc_id             = aws_vpc.this.id
      service_name       = "com.amazonaws.us-east-1.ssm"
      vpc_endpoint_type  = "Interface"
      security_group_ids = [module.endpoint_sg.id]
      tags               = module.tags.tags
    }
    """
HTTPS_FROM_VPC = """{
        https = {
          description = "https"
          ip_protocol = "tcp"
          from_port   = 443
          to_port     = 443
          cidr_ipv4   = aws_vpc.this.cidr_block
        }
      }"""


@pytest.mark.parametrize(
    ("rules", "bad"),
    [
        (HTTPS_FROM_VPC, False),
        (HTTPS_FROM_VPC.replace("aws_vpc.this.cidr_block", '"10.0.0.0/16"'), True),
        (HTTPS_FROM_VPC.replace("to_port     = 443", "to_port     = 8443"), True),
        (HTTPS_FROM_VPC.replace('"tcp"', '"-1"'), True),
        ("{}", True),
        ("merge(local.a, local.b)", True),
    ],
    ids=["exact", "literal-cidr", "port-range", "all-protocols", "no-rules", "expression"],
)
def test_endpoint_sg_variants(tmp_path: Path, rules: str, bad: bool) -> None:
    body = ENDPOINT % (SECURITY_GROUP, rules)
    if "local.a" in rules:
        body += "locals {\n  a = {}\n  b = {}\n}\n"
    findings = findings_of(tmp_path, "endpoint-sg-https-from-vpc-only", body)
    assert bool(findings) is bad, findings


HARBOR = """
    variable "k8s_client_sg_id" {
      type = string
    }
    variable "ops_client_sg_id" {
      type = string
    }
    variable "monitoring_client_sg_id" {
      type = string
    }
    variable "other_sg_id" {
      type = string
    }
    module "harbor_sg" {
      source      = "%s"
      name        = "dev-platform-harbor"
      description = "harbor"
      vpc_id      = "vpc-1"
      tags        = module.tags.tags
      ingress_rules = {
        https = {
          description = "https"
          ip_protocol = "tcp"
          from_port   = 443
          to_port     = 443
          %s
        }
      }
    }
    """


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("referenced_security_group_id = var.k8s_client_sg_id", False),
        ("referenced_security_group_id = var.monitoring_client_sg_id", False),
        ("referenced_security_group_id = var.other_sg_id", True),
        ('cidr_ipv4 = "10.0.0.0/16"', True),
        ("self = true", True),
    ],
    ids=["k8s-client", "monitoring-client", "other-sg", "cidr", "self"],
)
def test_harbor_identity_variants(tmp_path: Path, source: str, bad: bool) -> None:
    findings = findings_of(tmp_path, "identity-only-ingress", HARBOR % (SECURITY_GROUP, source))
    assert bool(findings) is bad, findings


DB = """
    variable "k8s_client_sg_id" {
      type = string
    }
    variable "monitoring_client_sg_id" {
      type = string
    }
    resource "aws_security_group" "db" {
      name        = "db"
      description = "db"
      vpc_id      = "vpc-1"
      tags        = module.tags.tags
    }
    resource "aws_vpc_security_group_ingress_rule" "mysql" {
      security_group_id            = aws_security_group.db.id
      ip_protocol                  = "tcp"
      from_port                    = 3306
      to_port                      = 3306
      referenced_security_group_id = %s
      tags                         = module.tags.tags
    }
    resource "aws_db_instance" "this" {
      vpc_security_group_ids = [aws_security_group.db.id]
      publicly_accessible    = false
      tags                   = module.tags.tags
    }
    """


@pytest.mark.parametrize(
    ("source", "bad"),
    [("var.k8s_client_sg_id", False), ("var.monitoring_client_sg_id", True), ('"sg-0123"', True)],
    ids=["k8s-client", "monitoring-client-not-for-db", "literal-id"],
)
def test_db_identity_variants(tmp_path: Path, source: str, bad: bool) -> None:
    findings = findings_of(tmp_path, "identity-only-ingress", DB % source)
    assert bool(findings) is bad, findings


@pytest.mark.parametrize(
    ("tags", "root", "bad"),
    [
        ("tags = module.tags.tags", True, False),
        ('tags = merge(module.tags.tags, { Name = "x" })', True, False),
        ("tags = var.tags", True, True),
        ("tags = var.tags", False, False),
        ('tags = { Name = "x" }', False, True),
        ("", True, True),
    ],
    ids=["common-tags", "merged", "stack-bypasses-common-tags", "module-var-tags", "module-literal", "none"],
)
def test_required_tags_variants(tmp_path: Path, tags: str, root: bool, bad: bool) -> None:
    body = f'resource "aws_kms_key" "k" {{\n  description = "k"\n  {tags}\n}}\n'
    findings = findings_of(tmp_path, "required-tags", body, root=root)
    assert bool(findings) is bad, findings


def test_required_tags_needs_default_tags_on_the_provider(tmp_path: Path) -> None:
    module = load_module(stack(tmp_path, ""))
    module.providers = [{"aws": {"region": "us-east-1"}}]
    findings = tf_policy.required_tags(module)
    assert [f.address for f in findings] == ["provider[0]"]


ENCRYPTION_VARIANTS = {
    "ebs-ok": ('resource "aws_instance" "x" {\n  root_block_device {\n    encrypted = true\n  }\n}', False),
    "ebs-default": ('resource "aws_instance" "x" {\n  ami = "ami-1"\n}', True),
    "volume": ('resource "aws_ebs_volume" "x" {\n  encrypted = false\n}', True),
    "rds-ok": ('resource "aws_db_instance" "x" {\n  storage_encrypted = true\n  kms_key_id = "k"\n}', False),
    "rds-no-cmk": ('resource "aws_db_instance" "x" {\n  storage_encrypted = true\n}', True),
    "rds-password": (
        'resource "aws_db_instance" "x" {\n  storage_encrypted = true\n  kms_key_id = "k"\n  password = "p"\n}',
        True,
    ),
    "rds-secret-no-key": (
        'resource "aws_db_instance" "x" {\n  storage_encrypted = true\n  kms_key_id = "k"\n'
        "  manage_master_user_password = true\n}",
        True,
    ),
    "secret-ok": ('resource "aws_secretsmanager_secret" "x" {\n  kms_key_id = "k"\n}', False),
    "logs": ('resource "aws_cloudwatch_log_group" "x" {\n  name = "x"\n}', True),
    "launch-template-ok": (
        'resource "aws_launch_template" "x" {\n  block_device_mappings {\n    device_name = "/dev/xvda"\n'
        "    ebs {\n      encrypted = true\n    }\n  }\n}",
        False,
    ),
    "launch-template-plain": (
        'resource "aws_launch_template" "x" {\n  block_device_mappings {\n    device_name = "/dev/xvda"\n'
        "    ebs {\n      volume_size = 8\n    }\n  }\n}",
        True,
    ),
}


@pytest.mark.parametrize("variant", sorted(ENCRYPTION_VARIANTS))
def test_encryption_variants(variant: str, checkov_results: list[checkov_scan.Result], variants_root: Path) -> None:
    _body, bad = ENCRYPTION_VARIANTS[variant]
    assert_checkov_variant(checkov_results, variants_root, "encryption-at-rest", variant, bad)


OPEN = """
    resource "aws_security_group" "lb" {
      name        = "lb"
      description = "lb"
      vpc_id      = "vpc-1"
      ingress {
        protocol    = "tcp"
        from_port   = %s
        to_port     = %s
        cidr_blocks = ["%s"]
      }
    }
    resource "aws_lb" "web" {
      internal        = %s
      security_groups = [aws_security_group.lb.id]
    }
    """


@pytest.mark.parametrize(
    ("port", "cidr", "internal", "bad"),
    [
        (443, "0.0.0.0/0", "false", False),
        (80, "0.0.0.0/0", "false", False),
        (22, "0.0.0.0/0", "false", True),
        (443, "0.0.0.0/0", "true", True),
        (443, "::/0", "true", True),
        (443, "10.0.0.0/16", "true", False),
    ],
    ids=["public-lb-443", "public-lb-80", "public-lb-ssh", "internal-lb", "ipv6-anywhere", "vpc-only"],
)
def test_open_ingress_variants(tmp_path: Path, port: int, cidr: str, internal: str, bad: bool) -> None:
    findings = findings_of(tmp_path, "no-open-ingress", OPEN % (port, port, cidr, internal), root=False)
    assert bool(findings) is bad, findings


PUBLIC_ACCESS_BLOCK = """
    resource "aws_s3_bucket" "b" {
      bucket = "b"
    }
    resource "aws_s3_bucket_public_access_block" "b" {
      bucket                  = aws_s3_bucket.b.id
      block_public_acls       = true
      block_public_policy     = %s
      ignore_public_acls      = true
      restrict_public_buckets = true
    }
    """
PUBLIC_ACL = 'resource "aws_s3_bucket_acl" "b" {\n  bucket = aws_s3_bucket.b.id\n  acl    = "public-read"\n}\n'
PUBLIC_VARIANTS = {
    "blocked": (PUBLIC_ACCESS_BLOCK % "true", False),
    "policy-not-blocked": (PUBLIC_ACCESS_BLOCK % "false", True),
    "public-acl": (PUBLIC_ACCESS_BLOCK % "true" + PUBLIC_ACL, True),
    "rds-private": ('resource "aws_db_instance" "x" {\n  publicly_accessible = false\n}', False),
    "rds-implicit": ('resource "aws_db_instance" "x" {\n  engine = "mysql"\n}', True),
}


@pytest.mark.parametrize("variant", sorted(PUBLIC_VARIANTS))
def test_public_data_store_variants(
    variant: str, checkov_results: list[checkov_scan.Result], variants_root: Path
) -> None:
    _body, bad = PUBLIC_VARIANTS[variant]
    assert_checkov_variant(checkov_results, variants_root, "no-public-data-stores", variant, bad)


# --------------------------------------------------------------------------------------------------
# One checkov run for every fixture and variant of the checkov-enforced rules
# --------------------------------------------------------------------------------------------------

CHECKOV_VARIANTS = {"encryption-at-rest": ENCRYPTION_VARIANTS, "no-public-data-stores": PUBLIC_VARIANTS}


@pytest.fixture(scope="module")
def variants_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variants, and a copy of the broken fixtures with module sources made absolute.

    checkov 3.3 reports only the first of several ``--directory`` arguments (it repeats that report for
    the others), so everything it has to see goes under one directory.
    """
    root = tmp_path_factory.mktemp("checkov_variants")
    for fixture in sorted(path for path in BROKEN.iterdir() if path.is_dir()):
        (root / BROKEN.name / fixture.name).mkdir(parents=True)
        for tf_file in fixture.glob("*.tf"):
            text = re.sub(r'"(\.\./)+terraform/modules/', f'"{REPO_ROOT}/terraform/modules/', tf_file.read_text())
            (root / BROKEN.name / fixture.name / tf_file.name).write_text(text)
    for rule, variants in CHECKOV_VARIANTS.items():
        for name, (body, _bad) in variants.items():
            directory = root / rule / name
            directory.mkdir(parents=True)
            stack(directory, body, root=False)
    return root


@pytest.fixture(scope="module")
def checkov_results(variants_root: Path) -> list[checkov_scan.Result]:
    if not checkov_scan.CHECKOV.is_file():
        pytest.skip(f"checkov is not installed at {checkov_scan.CHECKOV}: run `make checkov-deps` (make test does)")
    results, reports = checkov_scan.scan(variants_root)
    assert len(reports) == 1
    assert sum(report["summary"]["parsing_errors"] for report in reports) == 0
    ran = {result.check_id for result in results}
    for rule, checks in checkov_scan.RULE_CHECKS.items():
        assert set(checks) <= ran, f"{rule}: checkov never ran {sorted(set(checks) - ran)} (not loaded?)"
    return results


def assert_checkov_variant(results: list[checkov_scan.Result], root: Path, rule: str, variant: str, bad: bool) -> None:
    directory = root / rule / variant
    assert any(r.directory == directory.resolve() for r in results), f"checkov did not scan {directory}"
    found = checkov_findings(results, directory)
    assert bool(found.get(rule)) is bad, found


def test_check_policies_runs_selected_rules_only() -> None:
    module = load_module(BROKEN / "no-open-ingress")
    assert tf_policy.check_policies(module, ["required-tags"]) == []
    assert tf_policy.check_policies(module, ["no-open-ingress"])
