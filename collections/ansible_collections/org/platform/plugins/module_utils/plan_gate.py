# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan gate: a Terraform plan (``terraform show -json``) against the organisation's policies.

``PlanGate(policy_dir)`` loads ``policy/*.rego`` (Conftest layout: package ``main``, ``deny``/``warn``
rules, Rego v1) into one regopy interpreter, plus ``waivers.yml`` and ``prices.yml`` from the same
directory, once. ``gate.evaluate(plan, ...)`` then evaluates one stack's plan in-process and returns a
``GateResult``: ``denies`` (block the apply), ``warns`` (reported, the apply goes on), ``waived`` (denies
and warnings a valid waiver covers; report them at WARN) and the ``cost`` report.

Secrets: the policies never see a value that the plan's ``*_sensitive`` masks (or a sensitive root
variable or output) mark; they see ``SENSITIVE_PLACEHOLDER`` instead, and every text the gate returns is
scrubbed of the masked values as a second line of defence.

Every problem with the policies, the waivers or the price table raises ``PolicyError`` with a message that
names the file and the problem; a plan that is not plan JSON raises it too. Nothing here imports Ansible.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import fnmatch
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils.plan_cost import (
    CostReport,
    CostThresholds,
    PriceError,
    PriceTable,
    estimate_cost,
)

SENSITIVE_PLACEHOLDER = "(sensitive value)"
WAIVER_KEYS = {"rule", "address", "reason", "owner", "expires"}
OPTIONAL_WAIVER_KEYS = {"stack"}
QUERY = (
    'gate_result := {"deny": object.get(data, ["main", "deny"], []), "warn": object.get(data, ["main", "warn"], [])}'
)
SEVERITIES = ("deny", "warn")
# One lock for every PlanGate: rego-cpp interpreters are not meant for concurrent use, and the capture of
# file descriptors 1/2 is process-wide.
_REGO_LOCK = threading.RLock()


class PolicyError(Exception):
    """The policies, waivers, price table or plan cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Finding:
    """One policy result: which rule, on which resource address, and why."""

    rule: str
    address: str
    reason: str
    severity: str
    waiver: str | None = None

    @property
    def message(self) -> str:
        return f"[{self.rule}] {self.address}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        result = {"rule": self.rule, "address": self.address, "reason": self.reason, "severity": self.severity}
        if self.waiver is not None:
            result["waiver"] = self.waiver
        return result


@dataclass(frozen=True)
class Waiver:
    """A recorded exception: rule + address pattern (fnmatch), why, who, until when; optionally one stack."""

    rule: str
    address: str
    reason: str
    owner: str
    expires: datetime.date
    stack: str | None = None

    def matches(self, finding: Finding, stack: str | None) -> bool:
        if self.stack is not None and self.stack != stack:
            return False
        return self.rule == finding.rule and fnmatch.fnmatchcase(finding.address, self.address)

    def expired(self, today: datetime.date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        return f"waiver by {self.owner} until {self.expires.isoformat()}: {self.reason}"


@dataclass
class GateResult:
    """What the gate decided for one plan."""

    denies: list[Finding] = field(default_factory=list)
    warns: list[Finding] = field(default_factory=list)
    waived: list[Finding] = field(default_factory=list)
    cost: CostReport | None = None

    @property
    def passed(self) -> bool:
        return not self.denies

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "deny": [finding.as_dict() for finding in self.denies],
            "warn": [finding.as_dict() for finding in self.warns],
            "waived": [finding.as_dict() for finding in self.waived],
            "cost": None if self.cost is None else self.cost.as_dict(),
        }


# ---------------------------------------------------------------------------------------------- loading


def load_waivers(path: Path) -> list[Waiver]:
    """Read ``waivers.yml``: a mapping with a ``waivers`` list; every entry complete and well-formed."""
    import yaml  # PyYAML comes with ansible-core; imported here as in the other module_utils

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PolicyError(f"{path}: cannot read the waivers: {error}") from error
    if document is None:
        return []
    if not isinstance(document, Mapping) or not isinstance(document.get("waivers", []), list):
        raise PolicyError(f"{path}: expected a mapping with a list under 'waivers'")
    waivers = []
    for index, entry in enumerate(document.get("waivers") or []):
        where = f"{path}: waivers[{index}]"
        if not isinstance(entry, Mapping):
            raise PolicyError(f"{where} is not a mapping")
        missing = sorted(WAIVER_KEYS - set(entry))
        unknown = sorted(set(entry) - WAIVER_KEYS - OPTIONAL_WAIVER_KEYS)
        if missing or unknown:
            raise PolicyError(f"{where}: missing keys {missing}, unknown keys {unknown}")
        for key in sorted((WAIVER_KEYS | OPTIONAL_WAIVER_KEYS) - {"expires"}):
            if key in entry and not (isinstance(entry[key], str) and entry[key].strip()):
                raise PolicyError(f"{where}: {key} must be a non-empty string")
        expires = entry["expires"]
        if isinstance(expires, str):
            try:
                expires = datetime.date.fromisoformat(expires)
            except ValueError as error:
                raise PolicyError(f"{where}: expires {expires!r} is not a date (YYYY-MM-DD)") from error
        if isinstance(expires, datetime.datetime) or not isinstance(expires, datetime.date):
            raise PolicyError(f"{where}: expires must be a date (YYYY-MM-DD)")
        waivers.append(
            Waiver(
                rule=entry["rule"],
                address=entry["address"],
                reason=entry["reason"].strip(),
                owner=entry["owner"],
                expires=expires,
                stack=entry.get("stack"),
            )
        )
    return waivers


def policy_files(policy_dir: Path) -> list[Path]:
    """The ``*.rego`` files Conftest would load (tests, ``*_test.rego``, are not policies)."""
    if not policy_dir.is_dir():
        raise PolicyError(f"{policy_dir}: the policy directory does not exist")
    files = sorted(path for path in policy_dir.glob("*.rego") if not path.name.endswith("_test.rego"))
    if not files:
        raise PolicyError(f"{policy_dir}: no *.rego policies")
    return files


@contextlib.contextmanager
def _native_output_captured() -> Iterator[list[str]]:
    """Catch what rego-cpp prints on file descriptors 1 and 2 (its error reports), so it never reaches a
    module's stdout, and hand it to the caller for the error message."""
    captured: list[str] = []
    with _REGO_LOCK, tempfile.TemporaryFile(mode="w+b") as sink:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield captured
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


# ------------------------------------------------------------------------------------- sensitive values


def _mask(value: Any, mask: Any, secrets: set[str]) -> Any:
    """``value`` with every part that ``mask`` (a Terraform sensitivity mask) marks replaced."""
    if mask is True:
        _collect(value, secrets)
        return SENSITIVE_PLACEHOLDER if value is not None else None
    if isinstance(value, dict) and isinstance(mask, dict):
        return {key: _mask(item, mask.get(key, False), secrets) for key, item in value.items()}
    if isinstance(value, list) and isinstance(mask, list):
        return [_mask(item, mask[i] if i < len(mask) else False, secrets) for i, item in enumerate(value)]
    return value


def _collect(value: Any, secrets: set[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _collect(item, secrets)
    elif isinstance(value, list):
        for item in value:
            _collect(item, secrets)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= 3:  # shorter values would scrub ordinary words; they cannot identify a secret
            secrets.add(text)


def _mask_module(module: Any, secrets: set[str]) -> Any:
    """A planned_values / prior_state module with each resource's ``values`` masked, recursively."""
    if not isinstance(module, dict):
        return module
    masked = dict(module)
    masked["resources"] = [
        {**resource, "values": _mask(resource.get("values"), resource.get("sensitive_values", {}), secrets)}
        for resource in module.get("resources", [])
        if isinstance(resource, dict)
    ]
    if "child_modules" in module:
        masked["child_modules"] = [_mask_module(child, secrets) for child in module["child_modules"]]
    return masked


def mask_plan(plan: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """A copy of ``plan`` that holds no sensitive value, and the set of values it removed (for scrubbing)."""
    secrets: set[str] = set()
    masked = copy.deepcopy(dict(plan))
    for change_holder in masked.get("resource_changes", []) + masked.get("resource_drift", []):
        change = change_holder.get("change", {})
        for side in ("before", "after"):
            change[side] = _mask(change.get(side), change.get(f"{side}_sensitive", False), secrets)
    for output in masked.get("output_changes", {}).values():
        for side in ("before", "after"):
            output[side] = _mask(output.get(side), output.get(f"{side}_sensitive", False), secrets)
    planned = masked.get("planned_values", {})
    if "root_module" in planned:
        planned["root_module"] = _mask_module(planned["root_module"], secrets)
    for name, output in planned.get("outputs", {}).items():
        if output.get("sensitive"):
            planned["outputs"][name] = {**output, "value": _mask(output.get("value"), True, secrets)}
    prior = masked.get("prior_state", {}).get("values", {})
    if "root_module" in prior:
        prior["root_module"] = _mask_module(prior["root_module"], secrets)
    for name, output in prior.get("outputs", {}).items():
        if output.get("sensitive"):
            prior["outputs"][name] = {**output, "value": _mask(output.get("value"), True, secrets)}
    declared = masked.get("configuration", {}).get("root_module", {}).get("variables", {})
    for name, variable in masked.get("variables", {}).items():
        if declared.get(name, {}).get("sensitive"):
            variable["value"] = _mask(variable.get("value"), True, secrets)
    return masked, secrets


POLICY_CHANGE_KEYS = ("address", "module_address", "mode", "type", "name", "index", "provider_name", "action_reason")


def policy_input(plan: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The document the policies see: the plan's ``resource_changes`` (identity, actions, masked before and
    after) and version keys, in plan JSON's own shape, so the same policies run under conftest on the
    whole plan. Leaving out planned_values, prior_state, configuration and the masks halves what rego-cpp
    has to load. Returns the values it masked, for scrubbing, with those of sensitive outputs and
    variables elsewhere in the plan."""
    secrets: set[str] = set()
    changes = []
    for resource_change in plan.get("resource_changes", []):
        change = resource_change.get("change", {})
        reduced = {key: resource_change[key] for key in POLICY_CHANGE_KEYS if key in resource_change}
        reduced["change"] = {
            "actions": list(change.get("actions", [])),
            "before": _mask(change.get("before"), change.get("before_sensitive", False), secrets),
            "after": _mask(change.get("after"), change.get("after_sensitive", False), secrets),
        }
        changes.append(reduced)
    for output in plan.get("output_changes", {}).values():
        for side in ("before", "after"):
            _mask(output.get(side), output.get(f"{side}_sensitive", False), secrets)
    declared = plan.get("configuration", {}).get("root_module", {}).get("variables", {})
    for name, variable in plan.get("variables", {}).items():
        if declared.get(name, {}).get("sensitive"):
            _collect(variable.get("value"), secrets)
    document = {key: plan[key] for key in ("format_version", "terraform_version") if key in plan}
    document["resource_changes"] = changes
    return document, secrets


def scrub(text: str, secrets: set[str]) -> str:
    """``text`` with every masked value replaced (longest first, so a value inside another goes too)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, SENSITIVE_PLACEHOLDER)
    return text


# ----------------------------------------------------------------------------------------- evaluation


def _node_to_python(impl: Any) -> Any:
    """A rego-cpp result node as Python data.

    regopy 1.5.2's ``Output`` parses rego-cpp's text rendering, which does not escape quotes (a for_each
    address such as ``aws_kms_key.this["rds"]`` breaks it), so the gate walks the node tree instead. A
    string computed inside a policy comes back wrapped in one pair of quotes; that pair is removed.
    """
    from regopy import NodeKind
    from regopy.rego_shared import rego_node_get, rego_node_size, rego_node_type, rego_node_value

    kind = NodeKind(rego_node_type(impl))
    size = rego_node_size(impl)
    if kind in (NodeKind.Term, NodeKind.Scalar):
        return _node_to_python(rego_node_get(impl, 0))
    if kind == NodeKind.String:
        text = rego_node_value(impl)
        if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
            text = text[1:-1]
        return text
    if kind == NodeKind.Int:
        return int(rego_node_value(impl))
    if kind == NodeKind.Float:
        return float(rego_node_value(impl))
    if kind == NodeKind.Boolean:
        return rego_node_value(impl) == "true"
    if kind == NodeKind.Null:
        return None
    if kind in (NodeKind.Array, NodeKind.Set):
        return [_node_to_python(rego_node_get(impl, i)) for i in range(size)]
    if kind == NodeKind.Object:
        result = {}
        for i in range(size):
            item = rego_node_get(impl, i)
            result[_node_to_python(rego_node_get(item, 0))] = _node_to_python(rego_node_get(item, 1))
        return result
    raise PolicyError(f"the policies returned a value of kind {kind.name}, expected data")


class PlanGate:
    """The policies, waivers and prices of one policy directory, loaded once; ``evaluate`` per plan."""

    def __init__(self, policy_dir: Path | str) -> None:
        self.policy_dir = Path(policy_dir)
        self.files = policy_files(self.policy_dir)
        waivers_path = self.policy_dir / "waivers.yml"
        self.waivers = load_waivers(waivers_path) if waivers_path.exists() else []
        prices_path = self.policy_dir / "prices.yml"
        try:
            self.prices = PriceTable.load(prices_path) if prices_path.exists() else None
        except PriceError as error:
            raise PolicyError(str(error)) from error
        self._interpreter = self._build_interpreter()

    def _build_interpreter(self) -> Any:
        try:
            from regopy import Interpreter
        except ImportError as error:
            raise PolicyError("the plan gate needs the Python package regopy (requirements/runtime)") from error
        interpreter = Interpreter()
        for path in self.files:
            source = path.read_text(encoding="utf-8")
            native: list[str] = []  # stays empty if capturing itself fails
            try:
                with _native_output_captured() as native:
                    interpreter.add_module(path.name, source)
            except Exception as error:  # regopy raises RegoError; its report is what rego-cpp printed
                detail = "".join(native).strip() or str(error)
                raise PolicyError(f"{path}: the policy does not compile:\n{detail}") from error
        self._query(interpreter, {"resource_changes": []}, source="the policies (compiling the query)")
        return interpreter

    def _query(self, interpreter: Any, document: Mapping[str, Any], source: str) -> dict[str, list[Any]]:
        from regopy.rego_shared import rego_output_binding_at_index, rego_output_ok, rego_output_string, rego_query

        native: list[str] = []  # stays empty if capturing itself fails
        try:
            with _native_output_captured() as native:
                interpreter.set_input(dict(document))
                output = rego_query(interpreter._impl, QUERY)
        except Exception as error:
            detail = "".join(native).strip() or str(error)
            raise PolicyError(f"{self.policy_dir}: evaluating {source} failed:\n{detail}") from error
        if not rego_output_ok(output):
            raise PolicyError(f"{self.policy_dir}: evaluating {source} failed:\n{rego_output_string(output)}")
        impl = rego_output_binding_at_index(output, 0, "gate_result")
        if not impl:
            raise PolicyError(f"{self.policy_dir}: data.main.deny / data.main.warn are undefined")
        result = _node_to_python(impl)
        for severity in SEVERITIES:
            if not isinstance(result.get(severity), list):
                raise PolicyError(f"{self.policy_dir}: data.main.{severity} is not a set of findings")
        return result

    def evaluate(
        self,
        plan: Mapping[str, Any],
        *,
        stack: str | None = None,
        environment: str | None = None,
        region: str | None = None,
        protected_addresses: Sequence[str] = (),
        protected_overrides: Sequence[str] = (),
        cost_warn_percent: float = 10.0,
        cost_deny_percent: float = 30.0,
        today: datetime.date | None = None,
    ) -> GateResult:
        """Evaluate one stack's plan JSON; see the module docstring for what comes back.

        ``protected_addresses`` adds this stack's own protected addresses to the policy's list;
        ``protected_overrides`` names the addresses this run may destroy or replace even so.
        """
        if not isinstance(plan, Mapping) or not isinstance(plan.get("resource_changes", []), list):
            raise PolicyError(f"{stack or 'plan'}: not the JSON of `terraform show -json <planfile>`")
        masked, secrets = policy_input(plan)
        masked["gate"] = {
            "stack": stack,
            "environment": environment,
            "protected_addresses": list(protected_addresses),
            "protected_overrides": list(protected_overrides),
        }
        if environment is None:
            del masked["gate"]["environment"]
        raw = self._query(self._interpreter, masked, source=f"the plan of {stack or 'the stack'}")
        findings = [self._finding(item, severity, secrets) for severity in SEVERITIES for item in raw.get(severity, [])]
        result = self._apply_waivers(sorted(set(findings), key=_order), stack, today or datetime.date.today())
        if self.prices is not None:
            try:
                thresholds = CostThresholds(cost_warn_percent, cost_deny_percent)
                priced = {
                    "resource_changes": masked["resource_changes"],
                    "configuration": plan.get("configuration", {}),
                }
                result.cost = estimate_cost(priced, self.prices, region=region, thresholds=thresholds)
            except PriceError as error:
                raise PolicyError(f"{stack or 'plan'}: {error}") from error
            if result.cost.severity is not None:
                finding = Finding("cost", stack or "(stack)", result.cost.summary(), result.cost.severity)
                (result.denies if finding.severity == "deny" else result.warns).append(finding)
        return result

    def _finding(self, item: Any, severity: str, secrets: set[str]) -> Finding:
        if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in ("rule", "address")):
            raise PolicyError(
                f"{self.policy_dir}: every {severity} result must be finding(rule, address, reason), got {item!r}"
            )
        reason = item.get("reason") if isinstance(item.get("reason"), str) else item.get("msg", "")
        return Finding(
            rule=item["rule"],
            address=scrub(item["address"], secrets),
            reason=scrub(str(reason), secrets),
            severity=severity,
        )

    def _apply_waivers(self, findings: list[Finding], stack: str | None, today: datetime.date) -> GateResult:
        result = GateResult()
        used: set[Waiver] = set()
        for finding in findings:
            waiver = next((waiver for waiver in self.waivers if waiver.matches(finding, stack)), None)
            if waiver is None:
                (result.denies if finding.severity == "deny" else result.warns).append(finding)
                continue
            used.add(waiver)
            if waiver.expired(today):
                reason = f"the waiver for [{finding.rule}] expired on {waiver.expires.isoformat()} ({waiver.describe()}); original finding: {finding.reason}"
                result.denies.append(Finding("waiver-expired", finding.address, reason, "deny", waiver.describe()))
            else:
                result.waived.append(
                    Finding(finding.rule, finding.address, finding.reason, "waived", waiver.describe())
                )
        for waiver in self.waivers:
            if waiver not in used and waiver.expired(today) and waiver.stack in (None, stack):
                reason = (
                    f"expired waiver for [{waiver.rule}] matches nothing in this plan; remove it ({waiver.describe()})"
                )
                result.warns.append(Finding("waiver-expired", waiver.address, reason, "warn", waiver.describe()))
        return result


def _order(finding: Finding) -> tuple[str, str, str, str]:
    return (finding.severity, finding.rule, finding.address, finding.reason)


def evaluate_plan(plan: Mapping[str, Any], policy_dir: Path | str, **options: Any) -> GateResult:
    """One-shot form of ``PlanGate(policy_dir).evaluate(plan, **options)`` (builds the interpreter per call)."""
    return PlanGate(policy_dir).evaluate(plan, **options)
