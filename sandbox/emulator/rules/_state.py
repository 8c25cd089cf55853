"""Shared state of the emulator rules: run-time configuration, counters and the lingering-ENI reaper.

Not a rule module itself (the leading underscore keeps ``install_rules()`` from loading it).

Configuration (all optional; see ``sandbox/emulator/README.md``):

* ``ORG_PLATFORM_EMULATOR_ENI_LINGER_S`` (float, default 3.0): how long a load balancer's ENIs stay
  in the VPC after the load balancer is deleted (AWS: "some minutes").
* ``ORG_PLATFORM_EMULATOR_THROTTLE_SHARE`` (float 0..1, default 0): share of EC2/ELB API calls that
  are answered with the service's throttling error instead of being served.
* ``ORG_PLATFORM_EMULATOR_THROTTLE_SEED`` (int, default unset = random): seed for that choice.
* ``ORG_PLATFORM_EMULATOR_LATENCY_MS`` (float, default 0): added to every AWS call before it is served,
  outside the emulator's request lock, as network and service latency would be (AWS API calls take tens
  of milliseconds; the loopback emulator answers in a few, which hides what concurrency buys).

The same settings can be read and changed at run time through the control endpoint
``/_org_platform/emulator`` (see ``control_api``).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

LOCK = threading.RLock()


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass
class EmulatorConfig:
    eni_linger_s: float = 3.0
    throttle_share: float = 0.0
    throttle_seed: int | None = None
    latency_ms: float = 0.0

    @classmethod
    def from_env(cls) -> EmulatorConfig:
        seed = os.environ.get("ORG_PLATFORM_EMULATOR_THROTTLE_SEED", "").strip()
        return cls(
            eni_linger_s=_env_float("ORG_PLATFORM_EMULATOR_ENI_LINGER_S", 3.0),
            throttle_share=_env_float("ORG_PLATFORM_EMULATOR_THROTTLE_SHARE", 0.0),
            throttle_seed=int(seed) if seed else None,
            latency_ms=_env_float("ORG_PLATFORM_EMULATOR_LATENCY_MS", 0.0),
        )

    def update(self, values: dict[str, Any]) -> None:
        unknown = set(values) - set(asdict(self))
        if unknown:
            raise ValueError(f"unknown emulator settings: {sorted(unknown)}")
        if "eni_linger_s" in values:
            linger = float(values["eni_linger_s"])
            if linger < 0:
                raise ValueError("eni_linger_s must be >= 0")
            self.eni_linger_s = linger
        if "throttle_share" in values:
            share = float(values["throttle_share"])
            if not 0.0 <= share <= 1.0:
                raise ValueError("throttle_share must be within 0..1")
            self.throttle_share = share
        if "latency_ms" in values:
            latency = float(values["latency_ms"])
            if not 0.0 <= latency <= 10_000:
                raise ValueError("latency_ms must be within 0..10000")
            self.latency_ms = latency
        if "throttle_seed" in values:
            seed = values["throttle_seed"]
            self.throttle_seed = None if seed is None else int(seed)
            RANDOM.seed(self.throttle_seed)


@dataclass
class EmulatorStats:
    """What the emulator served since the last reset (all counters keyed ``service:Action``)."""

    calls: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # keyed by AWS error code
    throttled: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "total_calls": sum(self.calls.values()),
            "errors": dict(self.errors),
            "throttled": dict(self.throttled),
            "total_throttled": sum(self.throttled.values()),
        }


CONFIG = EmulatorConfig.from_env()
STATS = EmulatorStats()
RANDOM = random.Random(CONFIG.throttle_seed)  # noqa: S311 - fault injection, not cryptography


def reset_stats() -> None:
    with LOCK:
        STATS.calls.clear()
        STATS.errors.clear()
        STATS.throttled.clear()


# ENIs that disappear on their own once their owner (a deleted load balancer) has been gone long enough.
EXPIRES_ATTR = "_orgp_expires_at"


def schedule_expiry(eni: Any) -> None:
    setattr(eni, EXPIRES_ATTR, time.monotonic() + CONFIG.eni_linger_s)


def reap_expired_enis(ec2_backend: Any) -> None:
    """Drop the lingering ENIs whose time has come (called lazily before the calls that can see them)."""
    now = time.monotonic()
    with LOCK:
        for eni_id, eni in list(ec2_backend.enis.items()):
            expires = getattr(eni, EXPIRES_ATTR, None)
            if expires is not None and expires <= now:
                ec2_backend.enis.pop(eni_id, None)
