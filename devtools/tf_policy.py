# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Policy rules over parsed Terraform (tf_static.TerraformModule), one small pure function per rule.

These are the house rules checkov cannot express yet (they follow attachments between resources and
module calls as written: which group an endpoint or a database uses, which tags come from common-tags).
The rules checkov covers, ``encryption-at-rest`` and ``no-public-data-stores``, are checkov checks now
(built-in ones plus ``devtools/checkov_policies``; see ``devtools/checkov_scan.RULE_CHECKS``).

Each rule takes a module and returns a list of ``Finding``; an empty list means the module complies.
``RULES`` maps rule names to functions and ``check_policies`` runs them all. The rules read the HCL as
written, so they are strict about shape: security group rules given to the security-group module must be
a literal map (an expression cannot be verified), and ports/peers must be literals, locals with literal
values, or references that name what they are (``var.k8s_client_sg_id``, ``aws_vpc.this.cidr_block``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.tf_static import (
    Finding,
    TerraformModule,
    expression_text,
    literal,
    refers_to,
)

OPEN_CIDRS = ("0.0.0.0/0", "::/0")
IDENTITY_VARIABLES = {"k8s_client_sg_id", "ops_client_sg_id", "monitoring_client_sg_id"}
DB_IDENTITY_VARIABLES = {"k8s_client_sg_id", "ops_client_sg_id"}
SECURITY_GROUP_MODULE = re.compile(r"(^|/)modules/security-group/?$")
COMMON_TAGS_MODULE = re.compile(r"(^|/)modules/common-tags/?$")

# Resource types that take a `tags` argument, among those the estate uses or could plausibly add.
TAGGABLE_TYPES = frozenset(
    {
        "aws_vpc",
        "aws_subnet",
        "aws_internet_gateway",
        "aws_nat_gateway",
        "aws_eip",
        "aws_route_table",
        "aws_vpc_endpoint",
        "aws_default_security_group",
        "aws_security_group",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_flow_log",
        "aws_cloudwatch_log_group",
        "aws_kms_key",
        "aws_ssm_parameter",
        "aws_instance",
        "aws_launch_template",
        "aws_ebs_volume",
        "aws_iam_role",
        "aws_iam_policy",
        "aws_iam_instance_profile",
        "aws_s3_bucket",
        "aws_lb",
        "aws_lb_target_group",
        "aws_lb_listener",
        "aws_db_instance",
        "aws_db_subnet_group",
        "aws_db_parameter_group",
        "aws_secretsmanager_secret",
        "aws_elasticache_replication_group",
        "aws_sqs_queue",
    }
)


@dataclass(frozen=True)
class IngressRule:
    """One ingress permission, whatever way it was written."""

    group: str  # what the rule belongs to: "aws_security_group.x" or "module.x" (or the raw expression)
    address: str  # where it is written
    protocol: Any
    from_port: Any
    to_port: Any
    cidrs: tuple[str, ...]  # literal values or expressions
    source_groups: tuple[str, ...]  # referenced SG expressions
    prefix_lists: tuple[str, ...]
    self_reference: bool
    verifiable: bool = True


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [block for block in _as_list(body.get(name)) if isinstance(block, dict)]


def _group_key(expression: Any) -> str:
    """Normalise an SG id expression to the group's address: aws_security_group.x or module.x."""
    text = expression_text(str(expression)) if isinstance(expression, str) else str(expression)
    match = re.search(r"module\.([\w-]+)", text)
    if match:
        return f"module.{match.group(1)}"
    match = re.search(r"(aws_security_group|aws_default_security_group)\.([\w-]+)", text)
    if match:
        return f"{match.group(1)}.{match.group(2)}"
    return text.strip()


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def ingress_rules(module: TerraformModule) -> list[IngressRule]:
    """Every ingress rule of the module: inline blocks, rule resources and security-group module calls."""
    rules: list[IngressRule] = []
    for address, body in module.resources_of("aws_security_group"):
        for block in _blocks(body, "ingress"):
            rules.append(
                IngressRule(
                    group=address,
                    address=f"{address}.ingress",
                    protocol=block.get("protocol"),
                    from_port=literal(block.get("from_port"), module),
                    to_port=literal(block.get("to_port"), module),
                    cidrs=tuple(
                        str(c) for c in _as_list(block.get("cidr_blocks")) + _as_list(block.get("ipv6_cidr_blocks"))
                    ),
                    source_groups=tuple(str(g) for g in _as_list(block.get("security_groups"))),
                    prefix_lists=tuple(str(p) for p in _as_list(block.get("prefix_list_ids"))),
                    self_reference=_is_true(block.get("self")),
                )
            )
    for address, body in module.resources_of("aws_security_group_rule"):
        if body.get("type") != "ingress":
            continue
        rules.append(
            IngressRule(
                group=_group_key(body.get("security_group_id")),
                address=address,
                protocol=body.get("protocol"),
                from_port=literal(body.get("from_port"), module),
                to_port=literal(body.get("to_port"), module),
                cidrs=tuple(str(c) for c in _as_list(body.get("cidr_blocks")) + _as_list(body.get("ipv6_cidr_blocks"))),
                source_groups=tuple(str(g) for g in _as_list(body.get("source_security_group_id"))),
                prefix_lists=tuple(str(p) for p in _as_list(body.get("prefix_list_ids"))),
                self_reference=_is_true(body.get("self")),
            )
        )
    for address, body in module.resources_of("aws_vpc_security_group_ingress_rule"):
        rules.append(
            IngressRule(
                group=_group_key(body.get("security_group_id")),
                address=address,
                protocol=body.get("ip_protocol"),
                from_port=literal(body.get("from_port"), module),
                to_port=literal(body.get("to_port"), module),
                cidrs=tuple(str(c) for c in _as_list(body.get("cidr_ipv4")) + _as_list(body.get("cidr_ipv6"))),
                source_groups=tuple(str(g) for g in _as_list(body.get("referenced_security_group_id"))),
                prefix_lists=tuple(str(p) for p in _as_list(body.get("prefix_list_id"))),
                self_reference=False,
            )
        )
    for name, body in module.modules.items():
        if not SECURITY_GROUP_MODULE.search(module.module_source(name)):
            continue
        group = f"module.{name}"
        declared = body.get("ingress_rules", {})
        if not isinstance(declared, dict):
            rules.append(IngressRule(group, f"{group}.ingress_rules", None, None, None, (), (), (), False, False))
            continue
        for key, rule in declared.items():
            if not isinstance(rule, dict):
                rules.append(
                    IngressRule(group, f"{group}.ingress_rules[{key}]", None, None, None, (), (), (), False, False)
                )
                continue
            rules.append(
                IngressRule(
                    group=group,
                    address=f"{group}.ingress_rules[{key}]",
                    protocol=rule.get("ip_protocol"),
                    from_port=literal(rule.get("from_port"), module),
                    to_port=literal(rule.get("to_port"), module),
                    cidrs=tuple(str(c) for c in _as_list(rule.get("cidr_ipv4"))),
                    source_groups=tuple(str(g) for g in _as_list(rule.get("referenced_security_group_id"))),
                    prefix_lists=tuple(str(p) for p in _as_list(rule.get("prefix_list_id"))),
                    self_reference=_is_true(rule.get("self")),
                )
            )
    return rules


def _finding(rule: str, module: TerraformModule, address: str, message: str) -> Finding:
    return Finding(rule, str(module.path), address, message)


def _unverifiable(rule: str, module: TerraformModule, rules: list[IngressRule]) -> list[Finding]:
    return [
        _finding(rule, module, r.address, "ingress rules must be a literal map of literal objects to be verified")
        for r in rules
        if not r.verifiable
    ]


def _attached_groups(value: Any) -> set[str]:
    return {_group_key(item) for item in _as_list(value)}


# --------------------------------------------------------------------------------------------------
# Rule: the db route table has no NAT/IGW (default) route
# --------------------------------------------------------------------------------------------------


def _is_db_name(text: str) -> bool:
    return bool(re.search(r"(^|[._-])(db|data|database)([._-]|$)", text))


def _tier_tag(tags: Any) -> str | None:
    """The Tier tag of a resource, whether tags is a literal map or a merge(...) expression."""
    if isinstance(tags, dict):
        return str(tags.get("Tier")) if "Tier" in tags else None
    match = re.search(r'Tier\s*=\s*\\?"(\w+)\\?"', str(tags or ""))
    return match.group(1) if match else None


def db_route_table_no_default_route(module: TerraformModule) -> list[Finding]:
    """Route tables of the db tier carry no 0.0.0.0/0 route and no NAT/IGW target; db subnets use them."""
    rule = "db-route-table-no-default-route"
    findings: list[Finding] = []
    db_tables = {
        address
        for address, body in module.resources_of("aws_route_table")
        if _is_db_name(address.split(".", 1)[1]) or _tier_tag(body.get("tags")) == "db"
    }
    egress_targets = (
        "nat_gateway_id",
        "gateway_id",
        "egress_only_gateway_id",
        "transit_gateway_id",
        "network_interface_id",
    )

    def bad_route(route: dict[str, Any]) -> str | None:
        destination = str(route.get("cidr_block", route.get("destination_cidr_block", "")))
        ipv6 = str(route.get("ipv6_cidr_block", route.get("destination_ipv6_cidr_block", "")))
        if destination in OPEN_CIDRS or ipv6 in OPEN_CIDRS:
            return f"default route {destination or ipv6}"
        targets = [target for target in egress_targets if route.get(target)]
        if targets:
            return f"route through {', '.join(targets)}"
        return None

    for address in sorted(db_tables):
        for route in _blocks(module.resources[address], "route"):
            problem = bad_route(route)
            if problem:
                findings.append(_finding(rule, module, address, f"db route table has a {problem}"))
    for address, body in module.resources_of("aws_route"):
        target_tables = sorted(t for t in db_tables if refers_to(body.get("route_table_id"), t))
        if target_tables:
            problem = bad_route(body)
            if problem:
                findings.append(
                    _finding(rule, module, address, f"adds a {problem} to db route table {target_tables[0]}")
                )
    db_subnets = {address for address, _ in module.resources_of("aws_subnet") if _is_db_name(address.split(".", 1)[1])}
    for address, body in module.resources_of("aws_route_table_association"):
        if any(refers_to(body.get("subnet_id"), subnet) for subnet in db_subnets) and not any(
            refers_to(body.get("route_table_id"), table) for table in db_tables
        ):
            findings.append(_finding(rule, module, address, "associates a db subnet with a non-db route table"))
    return findings


# --------------------------------------------------------------------------------------------------
# Rule: the interface endpoint SG admits exactly tcp/443 from the VPC CIDR
# --------------------------------------------------------------------------------------------------


def _is_vpc_cidr(expression: str) -> bool:
    text = expression_text(expression)
    return bool(
        re.fullmatch(r"\s*(aws_vpc\.[\w-]+\.cidr_block|data\.aws_vpc\.[\w-]+\.cidr_block|var\.vpc_cidr)\s*", text)
    )


def endpoint_sg_https_from_vpc_only(module: TerraformModule) -> list[Finding]:
    """Every group attached to an interface endpoint admits tcp/443 from the VPC CIDR and nothing else."""
    rule = "endpoint-sg-https-from-vpc-only"
    findings: list[Finding] = []
    endpoint_groups: set[str] = set()
    for _address, body in module.resources_of("aws_vpc_endpoint"):
        if body.get("vpc_endpoint_type") == "Interface":
            endpoint_groups |= _attached_groups(body.get("security_group_ids"))
    all_rules = ingress_rules(module)
    findings += _unverifiable(rule, module, [r for r in all_rules if r.group in endpoint_groups])
    for group in sorted(endpoint_groups):
        rules = [r for r in all_rules if r.group == group and r.verifiable]
        if not rules:
            findings.append(
                _finding(rule, module, group, "endpoint group admits nothing: interface endpoints need 443")
            )
        for r in rules:
            exact = (
                str(r.protocol) in ("tcp", "6")
                and r.from_port == 443
                and r.to_port == 443
                and len(r.cidrs) == 1
                and _is_vpc_cidr(r.cidrs[0])
                and not r.source_groups
                and not r.prefix_lists
                and not r.self_reference
            )
            if not exact:
                findings.append(
                    _finding(rule, module, r.address, "endpoint group rule is not exactly tcp/443 from the VPC CIDR")
                )
    return findings


# --------------------------------------------------------------------------------------------------
# Rule: DB and Harbor admit only the identity groups, by SG reference
# --------------------------------------------------------------------------------------------------


def _harbor_group(module: TerraformModule, group: str) -> bool:
    kind, _, name = group.partition(".")
    body = module.modules.get(name) if kind == "module" else module.resources.get(group)
    label = f"{name} {body.get('name', '') if isinstance(body, dict) else ''}"
    return "harbor" in label.lower() or "registry" in label.lower()


def identity_only_ingress(module: TerraformModule) -> list[Finding]:
    """Groups of RDS instances admit only k8s-client/ops-client; Harbor groups only identity groups."""
    rule = "identity-only-ingress"
    findings: list[Finding] = []
    protected: dict[str, set[str]] = {}
    for _address, body in module.resources_of("aws_db_instance"):
        for group in _attached_groups(body.get("vpc_security_group_ids")):
            protected[group] = set(DB_IDENTITY_VARIABLES)
    all_rules = ingress_rules(module)
    for group in {r.group for r in all_rules}:
        if group not in protected and _harbor_group(module, group):
            protected[group] = set(IDENTITY_VARIABLES)
    findings += _unverifiable(rule, module, [r for r in all_rules if r.group in protected])
    for r in all_rules:
        if r.group not in protected or not r.verifiable:
            continue
        allowed = protected[r.group]
        if r.cidrs or r.prefix_lists or r.self_reference:
            findings.append(
                _finding(rule, module, r.address, "admits addresses/prefix lists/self, not identity groups")
            )
        for source in r.source_groups:
            text = expression_text(source)
            if not any(re.fullmatch(rf"\s*var\.{name}\s*", text) for name in allowed):
                findings.append(
                    _finding(rule, module, r.address, f"source {source} is not one of {', '.join(sorted(allowed))}")
                )
        if not (r.cidrs or r.prefix_lists or r.self_reference or r.source_groups):
            findings.append(_finding(rule, module, r.address, "rule has no recognisable source"))
    return findings


# --------------------------------------------------------------------------------------------------
# Rule: required tags on every taggable resource, through common-tags
# --------------------------------------------------------------------------------------------------


def required_tags(module: TerraformModule) -> list[Finding]:
    """Taggable resources set tags from common-tags (stacks) or var.tags (modules); stacks set default_tags."""
    rule = "required-tags"
    findings: list[Finding] = []
    if module.is_root:
        tag_modules = [name for name in module.modules if COMMON_TAGS_MODULE.search(module.module_source(name))]
        accepted = [f"module.{name}.tags" for name in tag_modules]
        if not tag_modules:
            findings.append(_finding(rule, module, "module", "stack does not call the common-tags module"))
        for index, provider in enumerate(module.providers):
            for body in provider.values() if isinstance(provider, dict) else []:
                defaults = _blocks(body, "default_tags") if isinstance(body, dict) else []
                if not defaults or not refers_to(defaults[0].get("tags"), "var.tags"):
                    findings.append(_finding(rule, module, f"provider[{index}]", "default_tags must carry var.tags"))
    else:
        accepted = ["var.tags"]
    for address, body in module.resources.items():
        if address.split(".", 1)[0] not in TAGGABLE_TYPES:
            continue
        tags = body.get("tags")
        if tags is None:
            findings.append(_finding(rule, module, address, "has no tags"))
        elif not any(refers_to(tags, reference) for reference in accepted):
            findings.append(
                _finding(rule, module, address, f"tags do not come from {' or '.join(accepted) or 'common-tags'}")
            )
    for name, body in module.modules.items():
        if not module.is_root or "tags" not in body or COMMON_TAGS_MODULE.search(module.module_source(name)):
            continue
        if not any(refers_to(body["tags"], reference) for reference in accepted):
            findings.append(_finding(rule, module, f"module.{name}", "passes tags not from common-tags"))
    return findings


# --------------------------------------------------------------------------------------------------
# Rule: no ingress from anywhere, except a public load balancer on 80/443
# --------------------------------------------------------------------------------------------------


def no_open_ingress(module: TerraformModule) -> list[Finding]:
    rule = "no-open-ingress"
    findings: list[Finding] = []
    public_lb_groups: set[str] = set()
    for _address, body in module.resources_of("aws_lb"):
        if body.get("internal") is False or body.get("internal") == "false":
            public_lb_groups |= _attached_groups(body.get("security_groups"))
    for r in ingress_rules(module):
        open_cidrs = [c for c in r.cidrs if any(open_cidr in c for open_cidr in OPEN_CIDRS)]
        if not open_cidrs:
            continue
        web_port = r.from_port == r.to_port and r.from_port in (80, 443) and str(r.protocol) in ("tcp", "6")
        if r.group in public_lb_groups and web_port:
            continue
        findings.append(_finding(rule, module, r.address, f"ingress from {', '.join(open_cidrs)}"))
    return findings


RULES: dict[str, Callable[[TerraformModule], list[Finding]]] = {
    "db-route-table-no-default-route": db_route_table_no_default_route,
    "endpoint-sg-https-from-vpc-only": endpoint_sg_https_from_vpc_only,
    "identity-only-ingress": identity_only_ingress,
    "required-tags": required_tags,
    "no-open-ingress": no_open_ingress,
}


def check_policies(module: TerraformModule, rules: list[str] | None = None) -> list[Finding]:
    """Run the named rules (all by default) over one module."""
    findings: list[Finding] = []
    for name in rules or list(RULES):
        findings.extend(RULES[name](module))
    return findings
