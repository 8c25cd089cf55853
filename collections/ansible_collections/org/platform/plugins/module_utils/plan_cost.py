# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Monthly cost of a Terraform plan, before and after, from the dated price table ``policy/prices.yml``.

Only what the table prices is counted (instance hours, RDS instance hours and storage, NAT gateway and
load balancer hours, interface endpoint hours per AZ, KMS keys, EBS gp3/gp2 storage, public IPv4
addresses); traffic, requests and LCUs are not. The figures are list prices copied by hand (see the
table's header), good for comparing a plan with its prior state, not for invoicing.

``estimate_cost(plan, prices, region=...)`` returns a ``CostReport``: totals before and after, the change
in percent, the top cost lines, and ``severity`` ("warn" above ``warn_percent``, "deny" above
``deny_percent``, None otherwise or when the stack costs nothing yet).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REQUIRED_REGION_KEYS = {
    "aws_instance_hour",
    "aws_db_instance_hour",
    "rds_storage_gb_month",
    "ebs_gb_month",
    "aws_nat_gateway_hour",
    "aws_lb_hour",
    "aws_vpc_endpoint_interface_az_hour",
    "aws_kms_key_month",
    "aws_eip_hour",
}
PRICED_TYPES = {
    "aws_instance",
    "aws_db_instance",
    "aws_nat_gateway",
    "aws_lb",
    "aws_alb",
    "aws_vpc_endpoint",
    "aws_kms_key",
    "aws_ebs_volume",
    "aws_eip",
}
TOP_LINES = 10


class PriceError(Exception):
    """The price table is unusable, or the plan needs a price the table lacks in a way that cannot be skipped."""


@dataclass(frozen=True)
class CostThresholds:
    """Percent increase of the monthly cost above which the gate warns / denies."""

    warn_percent: float = 10.0
    deny_percent: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.warn_percent <= self.deny_percent:
            raise PriceError(
                f"cost thresholds must satisfy 0 <= warn ({self.warn_percent}) <= deny ({self.deny_percent})"
            )


@dataclass(frozen=True)
class CostLine:
    address: str
    resource_type: str
    before: float
    after: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "type": self.resource_type,
            "monthly_before": round(self.before, 2),
            "monthly_after": round(self.after, 2),
            "detail": self.detail,
        }


@dataclass
class CostReport:
    region: str | None
    currency: str
    as_of: str
    before: float = 0.0
    after: float = 0.0
    lines: list[CostLine] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    thresholds: CostThresholds = field(default_factory=CostThresholds)

    @property
    def delta_percent(self) -> float | None:
        if self.before <= 0:
            return None
        return (self.after - self.before) / self.before * 100

    @property
    def severity(self) -> str | None:
        delta = self.delta_percent
        if delta is None:
            return None
        if delta > self.thresholds.deny_percent:
            return "deny"
        if delta > self.thresholds.warn_percent:
            return "warn"
        return None

    def top_lines(self, limit: int = TOP_LINES) -> list[CostLine]:
        return sorted(self.lines, key=lambda line: (-max(line.after, line.before), line.address))[:limit]

    def summary(self) -> str:
        delta = self.delta_percent
        change = "new stack" if delta is None else f"{delta:+.1f} %"
        text = (
            f"monthly cost {self.before:.2f} -> {self.after:.2f} {self.currency} ({change}; warn above "
            f"+{self.thresholds.warn_percent:g} %, deny above +{self.thresholds.deny_percent:g} %; list prices of {self.as_of})"
        )
        top = [line for line in self.top_lines(3) if line.after != line.before]
        if top:
            text += "; largest changes: " + ", ".join(
                f"{line.address} {line.before:.2f} -> {line.after:.2f}" for line in top
            )
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "currency": self.currency,
            "prices_as_of": self.as_of,
            "monthly_before": round(self.before, 2),
            "monthly_after": round(self.after, 2),
            "delta_percent": None if self.delta_percent is None else round(self.delta_percent, 1),
            "severity": self.severity,
            "top_lines": [line.as_dict() for line in self.top_lines()],
            "unpriced": list(self.unpriced),
        }


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    currency: str
    hours_per_month: float
    regions: Mapping[str, Mapping[str, Any]]

    @classmethod
    def load(cls, path: Path) -> PriceTable:
        """Read and check ``prices.yml`` (every region has every price key, all numbers non-negative)."""
        import yaml  # PyYAML comes with ansible-core; imported here as in the other module_utils

        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise PriceError(f"{path}: cannot read the price table: {error}") from error
        if not isinstance(document, Mapping):
            raise PriceError(f"{path}: expected a mapping")
        missing = sorted({"as_of", "source", "currency", "hours_per_month", "regions"} - set(document))
        if missing:
            raise PriceError(f"{path}: missing keys {missing}")
        as_of = document["as_of"]
        if isinstance(as_of, str):
            try:
                as_of = datetime.date.fromisoformat(as_of)
            except ValueError as error:
                raise PriceError(f"{path}: as_of {as_of!r} is not a date") from error
        if not isinstance(as_of, datetime.date):
            raise PriceError(f"{path}: as_of must be a date (YYYY-MM-DD)")
        regions = document["regions"]
        if not isinstance(regions, Mapping) or not regions:
            raise PriceError(f"{path}: regions must be a non-empty mapping")
        for region, prices in regions.items():
            if not isinstance(prices, Mapping):
                raise PriceError(f"{path}: regions.{region} must be a mapping")
            absent = sorted(REQUIRED_REGION_KEYS - set(prices))
            if absent:
                raise PriceError(f"{path}: regions.{region} lacks {absent}")
            for key, value in prices.items():
                values = value.values() if isinstance(value, Mapping) else [value]
                if not all(
                    isinstance(item, int | float) and not isinstance(item, bool) and item >= 0 for item in values
                ):
                    raise PriceError(f"{path}: regions.{region}.{key} must hold non-negative numbers")
        return cls(
            as_of=as_of.isoformat(),
            currency=str(document["currency"]),
            hours_per_month=float(document["hours_per_month"]),
            regions=regions,
        )

    def resource_monthly(self, region: str, resource_type: str, values: Mapping[str, Any]) -> tuple[float, str] | None:
        """(monthly price, what was priced) of one resource's values, or None when a size is unknown/unpriced."""
        prices = self.regions[region]
        hours = self.hours_per_month
        if resource_type == "aws_instance":
            rate = prices["aws_instance_hour"].get(values.get("instance_type"))
            if rate is None:
                return None
            volume = _root_volume(values)
            storage = volume[1] * prices["ebs_gb_month"].get(volume[0], 0.0) if volume else 0.0
            detail = f"{values['instance_type']}" + (f" + {volume[1]} GB {volume[0]}" if volume else "")
            return rate * hours + storage, detail
        if resource_type == "aws_db_instance":
            rate = prices["aws_db_instance_hour"].get(values.get("instance_class"))
            storage = values.get("allocated_storage")
            gb_price = prices["rds_storage_gb_month"].get(values.get("storage_type") or "gp2")
            if rate is None or not isinstance(storage, int | float) or gb_price is None:
                return None
            copies = 2 if values.get("multi_az") else 1
            detail = f"{values['instance_class']} + {storage} GB" + (" multi-AZ" if copies == 2 else "")
            return copies * (rate * hours + storage * gb_price), detail
        if resource_type == "aws_nat_gateway":
            if values.get("connectivity_type") == "private":
                return prices["aws_nat_gateway_hour"] * hours, "private NAT gateway"
            return prices["aws_nat_gateway_hour"] * hours, "NAT gateway hours (data processing not counted)"
        if resource_type in ("aws_lb", "aws_alb"):
            kind = values.get("load_balancer_type") or "application"
            rate = prices["aws_lb_hour"].get(kind)
            return None if rate is None else (rate * hours, f"{kind} load balancer hours (LCUs not counted)")
        if resource_type == "aws_vpc_endpoint":
            if (values.get("vpc_endpoint_type") or "Gateway") != "Interface":
                return 0.0, "gateway endpoint (free)"
            subnets = values.get("subnet_ids")
            zones = len(subnets) if isinstance(subnets, list) and subnets else 1
            return prices["aws_vpc_endpoint_interface_az_hour"] * hours * zones, f"interface endpoint x {zones} AZ"
        if resource_type == "aws_kms_key":
            return float(prices["aws_kms_key_month"]), "customer managed key"
        if resource_type == "aws_ebs_volume":
            gb_price = prices["ebs_gb_month"].get(values.get("type") or "gp3")
            size = values.get("size")
            if gb_price is None or not isinstance(size, int | float):
                return None
            return size * gb_price, f"{size} GB {values.get('type') or 'gp3'}"
        if resource_type == "aws_eip":
            return prices["aws_eip_hour"] * hours, "public IPv4 address"
        return 0.0, "not priced"


def _root_volume(values: Mapping[str, Any]) -> tuple[str, float] | None:
    blocks = values.get("root_block_device")
    if isinstance(blocks, list) and blocks and isinstance(blocks[0], Mapping):
        size = blocks[0].get("volume_size")
        if isinstance(size, int | float):
            return str(blocks[0].get("volume_type") or "gp3"), float(size)
    return None


def plan_region(plan: Mapping[str, Any]) -> str | None:
    """The AWS provider's region when the configuration states it as a constant."""
    providers = plan.get("configuration", {}).get("provider_config", {})
    for name, provider in providers.items():
        if name == "aws" or provider.get("name") == "aws":
            region = provider.get("expressions", {}).get("region", {}).get("constant_value")
            if isinstance(region, str):
                return region
    return None


def estimate_cost(
    plan: Mapping[str, Any],
    prices: PriceTable,
    *,
    region: str | None = None,
    thresholds: CostThresholds | None = None,
) -> CostReport:
    """Monthly cost before and after ``plan`` (see the module docstring)."""
    region = region or plan_region(plan)
    report = CostReport(
        region=region, currency=prices.currency, as_of=prices.as_of, thresholds=thresholds or CostThresholds()
    )
    for change_holder in plan.get("resource_changes", []):
        if change_holder.get("mode") != "managed" or change_holder.get("type") not in PRICED_TYPES:
            continue
        if region is None:
            raise PriceError(
                f"{change_holder.get('address')}: the plan has priced resources but no region (pass region=)"
            )
        if region not in prices.regions:
            raise PriceError(f"the price table has no prices for region {region} (add it to policy/prices.yml)")
        change = change_holder.get("change", {})
        sides = []
        for side in ("before", "after"):
            values = change.get(side)
            if side == "after" and "delete" in change.get("actions", []) and "create" not in change.get("actions", []):
                values = None
            if "forget" in change.get("actions", []) and side == "after":
                values = None
            if not isinstance(values, Mapping):
                sides.append((0.0, ""))
                continue
            priced = prices.resource_monthly(region, change_holder["type"], values)
            if priced is None:
                report.unpriced.append(f"{change_holder['address']} ({side})")
                sides.append((0.0, "unpriced"))
            else:
                sides.append(priced)
        (before, _before_detail), (after, detail_after) = sides
        detail = detail_after or sides[0][1]
        report.before += before
        report.after += after
        report.lines.append(CostLine(change_holder["address"], change_holder["type"], before, after, detail))
    return report
