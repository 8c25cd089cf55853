# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tf_static: HCL parsing, expression references, reference resolution and the stack contract."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ansible_collections.org.platform.plugins.module_utils.stack_graph import StackGraphError

from devtools import tf_static
from devtools.tf_static import (
    TerraformStaticError,
    check_contract,
    check_references,
    check_wiring,
    expression_text,
    literal,
    load_module,
    references,
    refers_to,
    type_expression,
)


def write_module(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text))
    return directory


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain text", ""),
        ("${var.a}", " var.a "),
        ("${local.name}-nat-${var.azs[count.index]}", " local.name   var.azs[count.index] "),
        ('${merge(module.tags.tags, {Name = "a.b"})}', " merge(module.tags.tags, {Name =  }) "),
        ('${merge(x, {Name = "${local.n}-x"})}', " merge(x, {Name =   local.n  }) "),
        ("com.amazonaws.${var.aws_region}.s3", " var.aws_region "),
    ],
    ids=["literal", "variable", "template", "nested-literal", "nested-interpolation", "service-name"],
)
def test_expression_text_keeps_only_expressions(value: str, expected: str) -> None:
    # Spacing is an implementation detail; what matters is which characters survive.
    assert expression_text(value).split() == expected.split()


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("${var.vpc_cidr}", "variables", {"vpc_cidr"}),
        ("${data.aws_vpc.this.cidr_block}", "data", {"aws_vpc.this"}),
        ("${data.aws_vpc.this.cidr_block}", "resources", set()),
        ("${aws_subnet.db[*].id}", "resources", {"aws_subnet.db"}),
        ("${module.server[0].instance_id}", "modules", {("server", "instance_id")}),
        ("${each.value.from_port}", "resources", set()),
        ("${count.index}", "variables", set()),
        ('${"aws_vpc.not_a_reference"}', "resources", set()),
        ({"key": ["${local.a}", {"inner": "${local.b}"}]}, "locals", {"a", "b"}),
        ("${terraform_data.guards.id}", "resources", {"terraform_data.guards"}),
    ],
    ids=[
        "var",
        "data",
        "data-not-resource",
        "splat",
        "module-output",
        "each",
        "count",
        "in-string",
        "nested",
        "builtin",
    ],
)
def test_references_by_kind(value: object, kind: str, expected: set) -> None:
    assert set(getattr(references(value), kind)) == expected


@pytest.mark.parametrize(
    ("value", "reference", "expected"),
    [
        ("${var.tags}", "var.tags", True),
        ("${var.tags_extra}", "var.tags", False),
        ("${merge(module.tags.tags, {})}", "module.tags.tags", True),
        ('${merge({Name = "module.tags.tags"})}', "module.tags.tags", False),
    ],
)
def test_refers_to(value: str, reference: str, expected: bool) -> None:
    assert refers_to(value, reference) is expected


def test_literal_follows_literal_locals(tmp_path: Path) -> None:
    module = load_module(write_module(tmp_path, {"main.tf": 'locals {\n  port = 443\n  name = "${var.x}-y"\n}\n'}))
    assert literal("${local.port}", module) == 443
    assert literal("${local.name}", module) is None
    assert literal("${var.x}", module) is None
    assert literal(3306, module) == 3306
    assert literal("tcp", module) == "tcp"


@pytest.mark.parametrize(
    ("written", "expected"),
    [("${list(string)}", "list(string)"), ("${map( list( string ) )}", "map(list(string))"), (None, "any")],
)
def test_type_expression(written: object, expected: str) -> None:
    assert type_expression(written) == expected


def test_load_module_collects_blocks(tmp_path: Path) -> None:
    module = load_module(
        write_module(
            tmp_path,
            {
                "a.tf": """
                    variable "x" {
                      type    = string
                      default = ""
                    }
                    resource "aws_vpc" "this" {
                      cidr_block = var.x
                    }
                    """,
                "b.tf": """
                    data "aws_ami" "golden" {
                      most_recent = true
                    }
                    output "id" {
                      value     = aws_vpc.this.id
                      sensitive = true
                    }
                    """,
            },
        )
    )
    assert set(module.variables) == {"x"}
    assert module.variables["x"]["default"] == ""
    assert set(module.resources) == {"aws_vpc.this"}
    assert set(module.data) == {"aws_ami.golden"}
    assert module.outputs["id"]["sensitive"] is True
    assert not module.is_root


def test_syntax_error_is_reported_with_the_file(tmp_path: Path) -> None:
    write_module(tmp_path, {"broken.tf": 'resource "aws_vpc" "x" {\n  cidr_block = \n'})
    with pytest.raises(TerraformStaticError, match=r"broken\.tf: HCL does not parse"):
        load_module(tmp_path)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TerraformStaticError, match=r"no \.tf files"):
        load_module(tmp_path)


CHILD = {
    "variables.tf": """
        variable "name" {
          type = string
        }
        variable "size" {
          type    = number
          default = 1
        }
        """,
    "outputs.tf": """
        output "id" {
          value = var.name
        }
        """,
}

GOOD_PARENT = """
    variable "region" {
      type = string
    }
    locals {
      name = "x-${var.region}"
    }
    resource "aws_vpc" "this" {
      cidr_block = "10.0.0.0/16"
      tags       = { Name = local.name }
    }
    data "aws_region" "current" {}
    module "child" {
      source = "../child"
      name   = aws_vpc.this.id
    }
    output "child_id" {
      value = module.child.id
    }
    output "region" {
      value = data.aws_region.current.name
    }
    """


@pytest.mark.parametrize(
    ("replace", "with_", "message"),
    [
        (None, None, None),
        ("var.region}", "var.regoin}", "var.regoin is not declared"),
        ("value = module.child.id", "value = module.child.arn", "module.child has no output 'arn'"),
        ("value = module.child.id", "value = module.kid.id", "module.kid is not declared"),
        ("tags       = { Name = local.name }", "tags = { Name = local.nmae }", "local.nmae is not declared"),
        ("name   = aws_vpc.this.id", "name = aws_vpc.that.id", "aws_vpc.that is not declared"),
        ("name   = aws_vpc.this.id", "name = aws_vpc.this.id\n  colour = 1", "argument 'colour' is not a variable"),
        ("name   = aws_vpc.this.id", "size = 2", "required variable 'name' of child is not passed"),
        ("data.aws_region.current.name", "data.aws_region.here.name", "data.aws_region.here is not declared"),
    ],
    ids=["clean", "var", "module-output", "module", "local", "resource", "extra-arg", "missing-arg", "data"],
)
def test_check_references(tmp_path: Path, replace: str | None, with_: str | None, message: str | None) -> None:
    write_module(tmp_path / "child", CHILD)
    parent_text = GOOD_PARENT if replace is None else GOOD_PARENT.replace(replace, with_)
    assert replace is None or parent_text != GOOD_PARENT, "the test's replacement must change the module"
    findings = check_references(load_module(write_module(tmp_path / "parent", {"main.tf": parent_text})))
    if message is None:
        assert findings == []
    else:
        assert [f.message for f in findings if message in f.message], findings


CONTRACT = {
    "common_variables": {"environment": {"type": "string"}},
    "stacks": {
        "00-net": {
            "depends_on": [],
            "variables": {"cidr": {"type": "string"}, "azs": {"type": "list(string)", "default": []}},
            "outputs": {"vpc_id": {"type": "string"}, "secret": {"type": "string", "sensitive": True}},
        },
        "10-app": {
            "depends_on": ["00-net"],
            "variables": {"vpc_id": {"type": "string", "from": "00-net.vpc_id"}},
            "outputs": {},
        },
    },
}

GOOD_STACK = """
    variable "environment" {
      type = string
    }
    variable "cidr" {
      type = string
    }
    variable "azs" {
      type    = list(string)
      default = []
    }
    output "vpc_id" {
      value = var.cidr
    }
    output "secret" {
      value     = var.cidr
      sensitive = true
    }
    output "extra" {
      value = var.environment
    }
    """


@pytest.mark.parametrize(
    ("replace", "with_", "message"),
    [
        (None, None, None),
        ('variable "cidr" {\n  type = string\n}', "", "declared by the contract but not by the stack"),
        ('variable "cidr" {', 'variable "other" {\n  type = string\n}\nvariable "cidr" {', "not by the contract"),
        ("type    = list(string)", "type    = set(string)", "differs from contract 'list(string)'"),
        ("default = []", 'default = ["a"]', "default ['a'] differs"),
        ('output "vpc_id" {', 'output "vpc" {', "promised by the contract but not declared"),
        ("sensitive = true", "sensitive = false", "contract marks it sensitive"),
    ],
    ids=["clean", "missing-var", "extra-var", "type", "default", "missing-output", "not-sensitive"],
)
def test_check_contract(tmp_path: Path, replace: str | None, with_: str | None, message: str | None) -> None:
    text = textwrap.dedent(GOOD_STACK)
    if replace is not None:
        assert replace in text
        text = text.replace(replace, with_)
    findings = check_contract(load_module(write_module(tmp_path, {"main.tf": text})), CONTRACT, "00-net")
    if message is None:
        assert findings == []
    else:
        assert any(message in f.message for f in findings), findings


@pytest.mark.parametrize(
    ("source", "depends_on", "message"),
    [
        ("00-net.vpc_id", ["00-net"], None),
        ("00-net.vpc_id.key", ["00-net"], None),
        ("00-nett.vpc_id", ["00-net"], "unknown stack"),
        ("00-net.vpc", ["00-net"], "no such output"),
        ("00-net.vpc_id", [], "not in depends_on"),
    ],
)
def test_check_wiring(source: str, depends_on: list[str], message: str | None) -> None:
    contract = {
        "stacks": {
            **CONTRACT["stacks"],
            "10-app": {"depends_on": depends_on, "variables": {"vpc_id": {"type": "string", "from": source}}},
        }
    }
    findings = check_wiring(contract)
    if message is None:
        assert findings == []
    else:
        assert [f for f in findings if message in f.message], findings


def test_load_contract_rejects_other_yaml(tmp_path: Path) -> None:
    path = tmp_path / "stacks.yml"
    path.write_text("version: 1\n")
    # One contract loader (stack_graph.load_contract), re-exported by devtools.tf_static.
    with pytest.raises(StackGraphError, match="not a stack contract"):
        tf_static.load_contract(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ platform_stacks.outputs['60-db'].db_endpoint }}", {("60-db", "db_endpoint")}),
        ('{{ r.outputs["00-network"]["subnet_ids_by_tier"].db }}', {("00-network", "subnet_ids_by_tier")}),
        ("{{ r.outputs [ '50-rke2' ] . api_endpoint }}", set()),
        (
            "{{ r.outputs['50-rke2'].api_endpoint }} {{ r.outputs['40-bastion'].bastion_instance_id }}",
            {("50-rke2", "api_endpoint"), ("40-bastion", "bastion_instance_id")},
        ),
        ("{{ r.outputs }}", set()),
    ],
    ids=["attribute", "subscript", "spaced-attribute-not-jinja", "two", "whole-dict"],
)
def test_consumed_outputs(text: str, expected: set) -> None:
    assert tf_static.consumed_outputs(text) == expected


@pytest.mark.parametrize(
    ("consumed", "message"),
    [
        ({("00-net", "vpc_id")}, None),
        ({("00-net", "vpc")}, "consumed but not declared"),
        ({("99-x", "vpc_id")}, "unknown stack"),
    ],
)
def test_check_consumed_outputs(consumed: set, message: str | None) -> None:
    findings = tf_static.check_consumed_outputs(CONTRACT, consumed, "playbooks/x.yml")
    if message is None:
        assert findings == []
    else:
        assert [f for f in findings if message in f.message], findings
