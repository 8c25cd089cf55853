# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline checks of awx/ (no AWX server runs here): what would otherwise fail only in production.

* ``spec_problems``: every object ``awx/filter_plugins/awx_objects.py`` makes is validated against the argument
  spec of the installed awx.awx module it is for (the spec is taken from the module itself: its ``main`` runs
  with ``ControllerAPIModule`` replaced by a recorder, plus the module_utils' ``AUTH_ARGSPEC``).
* ``task_problems``: every awx.awx task in ``awx/configure.yml`` uses only options its module has, and each
  apply task passes every key the filter makes for its kind (nothing silently dropped).
* ``consistency_problems``: each job template's playbook exists, each survey variable is read by that
  playbook or a playbook it imports, a true/false question is read through ``| bool``, each inventory source's
  file exists, and each credential type's injected environment variable is read by the inventories.

Each returns a list of sentences naming the object and the problem; empty means none.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO_ROOT = Path(__file__).resolve().parent.parent
AWX_DIR = REPO_ROOT / "awx"
TEMPLATE_RE = re.compile(r"\{\{.*?\}\}", re.S)


class _Recorded(Exception):
    def __init__(self, spec: dict[str, Any]):
        super().__init__("recorded")
        self.spec = spec


@cache
def module_spec(name: str) -> dict[str, Any]:
    """The full argument spec of ``awx.awx.<name>``, as the installed module builds it."""
    controller_api = importlib.import_module("ansible_collections.awx.awx.plugins.module_utils.controller_api")
    module = importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{name}")
    auth = dict(controller_api.ControllerModule.AUTH_ARGSPEC)

    def record(*args: Any, argument_spec: dict[str, Any] | None = None, **kwargs: Any) -> None:
        raise _Recorded({**(argument_spec or (args[0] if args else {})), **auth})

    saved = {attr: getattr(module, attr) for attr in ("ControllerAPIModule",) if hasattr(module, attr)}
    try:
        for attr in saved:
            setattr(module, attr, record)
        module.main()
    except _Recorded as recorded:
        return recorded.spec
    finally:
        for attr, value in saved.items():
            setattr(module, attr, value)
    raise RuntimeError(f"awx.awx.{name} built no argument spec")


def load_filter(path: Path = AWX_DIR / "filter_plugins" / "awx_objects.py") -> Any:
    spec = importlib.util.spec_from_file_location("awx_objects", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def load_config(path: Path = AWX_DIR / "controller.yml") -> dict[str, Any]:
    return yaml.safe_load(path.read_text())["awx_config"]


def _placeholders(value: Any) -> Any:
    """Templates (``{{ lookup(...) }}``) become a placeholder string: the types around them are still checked."""
    if isinstance(value, str):
        return TEMPLATE_RE.sub("templated", value)
    if isinstance(value, Mapping):
        return {key: _placeholders(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    return value


def objects(config: Mapping[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    config = config if config is not None else load_config()
    return load_filter().awx_objects(_placeholders(dict(config)))


def spec_problems(made: Mapping[str, list[Mapping[str, Any]]]) -> list[str]:
    problems = []
    for kind, items in made.items():
        validator = ArgumentSpecValidator(module_spec(kind))
        for item in items:
            result = validator.validate(dict(item))
            problems += [f"{kind} {item.get('name')}: {message}" for message in result.error_messages]
    return problems


def _tasks(path: Path) -> Iterable[dict[str, Any]]:
    for play in yaml.safe_load(path.read_text()) or []:
        yield from play.get("tasks", [])


def task_problems(made: Mapping[str, list[Mapping[str, Any]]], path: Path = AWX_DIR / "configure.yml") -> list[str]:
    problems = []
    for task in _tasks(path):
        modules = [key for key in task if key.startswith("awx.awx.")]
        if not modules:
            continue
        kind = modules[0].removeprefix("awx.awx.")
        args = task[modules[0]] or {}
        spec = module_spec(kind)
        names = set(spec) | {alias for option in spec.values() for alias in option.get("aliases", [])}
        for option in sorted(set(args) - names):
            problems.append(f"configure.yml, task {task.get('name')!r}: awx.awx.{kind} has no option {option!r}")
        if re.search(rf"__awx_objects\.{kind}\b", str(task.get("loop", ""))):
            made_keys = {key for item in made.get(kind, []) for key in item}
            for key in sorted(made_keys - set(args)):
                problems.append(f"configure.yml, task {task.get('name')!r}: does not pass {key!r} of {kind}")
    return problems


def _reachable_playbooks(playbook: Path) -> list[Path]:
    """The playbook and every playbook it imports, recursively."""
    seen: list[Path] = []
    pending = [playbook]
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.append(path)
        for play in yaml.safe_load(path.read_text()) or []:
            target = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
            if target:
                pending.append((path.parent / target).resolve())
    return seen


def consistency_problems(made: Mapping[str, list[Mapping[str, Any]]], repo: Path = REPO_ROOT) -> list[str]:
    problems = []
    for template in made.get("job_template", []):
        name, playbook = template["name"], repo / template["playbook"]
        if not playbook.is_file():
            problems.append(f"job template {name}: playbook {template['playbook']} does not exist")
            continue
        text = "\n".join(path.read_text() for path in _reachable_playbooks(playbook))
        for question in (template.get("survey_spec") or {}).get("spec", []):
            variable = question["variable"]
            if not re.search(rf"\b{re.escape(variable)}\b", text):
                problems.append(
                    f"job template {name}: survey variable {variable} is read by no play of {template['playbook']}"
                )
                continue
            choices = {str(choice) for choice in (question.get("choices") or [])}
            boolean = question["type"] == "multiplechoice" and choices <= {"true", "false"}
            if boolean and not re.search(rf"\b{re.escape(variable)}\b[^}}\n]*\|\s*bool\b", text):
                problems.append(f"job template {name}: {variable} answers true/false but is not read through | bool")
    for source in made.get("inventory_source", []):
        if not (repo / source["source_path"]).is_file():
            problems.append(f"inventory source {source['name']}: {source['source_path']} does not exist")
    inventories = "\n".join(path.read_text() for path in (repo / "inventories").rglob("*.yml"))
    for credential_type in made.get("credential_type", []):
        for variable in credential_type.get("injectors", {}).get("env", {}):
            if f"'{variable}'" not in inventories and f'"{variable}"' not in inventories:
                problems.append(f"credential type {credential_type['name']}: {variable} is read by no inventory")
    return problems
