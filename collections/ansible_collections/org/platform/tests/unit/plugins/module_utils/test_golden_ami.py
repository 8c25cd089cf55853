# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the golden AMI logic: build hash, the pure decision, the cleanup plan, input checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ansible_collections.org.platform.plugins.module_utils.golden_ami import (
    REASON_FOUND,
    REASON_HASH_CHANGED,
    REASON_NONE_FOUND,
    REASON_SOURCE_SUPERSEDED,
    REASON_TOO_OLD,
    GoldenAmiError,
    Image,
    cleanup_plan,
    compute_build_hash,
    decide,
    parse_creation_date,
    validate_inputs,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HASH = "a" * 64
BASE = "ami-base0000000000001"


def image(
    image_id: str,
    *,
    days_old: float = 1,
    state: str = "available",
    build_hash: str = HASH,
    source: str = BASE,
    name: str | None = None,
) -> Image:
    return Image(
        image_id=image_id,
        name=name or f"golden-{image_id}",
        state=state,
        creation_date=NOW - timedelta(days=days_old),
        architecture="x86_64",
        tags={"Role": "golden", "OS": "al2023", "Arch": "x86_64", "BuildHash": build_hash, "SourceAmi": source},
    )


SOURCE = Image(BASE, "al2023-ami-2023.7.20260501.0-kernel-6.1-x86_64", "available", NOW, "x86_64")


# --- build hash --------------------------------------------------------------------------------------------


def test_build_hash_needs_the_template(tmp_path: Path) -> None:
    with pytest.raises(GoldenAmiError, match=r"golden\.pkr\.hcl"):
        compute_build_hash(tmp_path, {})


# --- decision ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("images", "source", "max_age", "build", "code", "ami_id"),
    [
        pytest.param([], SOURCE, 30, True, REASON_NONE_FOUND, "", id="none"),
        pytest.param([image("ami-1", state="pending")], SOURCE, 30, True, REASON_NONE_FOUND, "", id="only-pending"),
        pytest.param([image("ami-1", build_hash="b" * 64)], SOURCE, 30, True, REASON_HASH_CHANGED, "ami-1", id="hash"),
        pytest.param([image("ami-1", source="ami-old")], SOURCE, 30, True, REASON_SOURCE_SUPERSEDED, "ami-1", id="src"),
        pytest.param([image("ami-1", days_old=31)], SOURCE, 30, True, REASON_TOO_OLD, "ami-1", id="too-old"),
        pytest.param([image("ami-1", days_old=400)], SOURCE, 0, False, REASON_FOUND, "ami-1", id="no-age-limit"),
        pytest.param([image("ami-1", days_old=29.9)], SOURCE, 30, False, REASON_FOUND, "ami-1", id="found"),
        pytest.param([image("ami-1", source="ami-any")], None, 30, False, REASON_FOUND, "ami-1", id="no-base-image"),
        pytest.param(
            [image("ami-old", days_old=5), image("ami-new", days_old=1), image("ami-mid", days_old=3)],
            SOURCE,
            30,
            False,
            REASON_FOUND,
            "ami-new",
            id="newest-of-several",
        ),
        pytest.param(
            [
                image("ami-ok", days_old=3),
                image("ami-pend", days_old=0, state="pending"),
                image("ami-f", state="failed"),
            ],
            SOURCE,
            30,
            False,
            REASON_FOUND,
            "ami-ok",
            id="pending-and-failed-ignored",
        ),
        pytest.param(
            [image("ami-cur", days_old=9), image("ami-other", days_old=1, build_hash="c" * 64)],
            SOURCE,
            30,
            False,
            REASON_FOUND,
            "ami-cur",
            id="older-image-with-current-hash",
        ),
    ],
)
def test_decide(images: list[Image], source: Image | None, max_age: int, build: bool, code: str, ami_id: str) -> None:
    decision = decide(images, source, HASH, max_age, NOW)
    assert (decision.build_required, decision.reason_code, decision.ami_id) == (build, code, ami_id)
    assert decision.build_hash == HASH
    assert decision.reason


def test_decide_reports_ignored_images() -> None:
    decision = decide([image("ami-ok"), image("ami-f", state="failed")], SOURCE, HASH, 30, NOW)
    assert [ignored["image_id"] for ignored in decision.ignored] == ["ami-f"]
    assert "1 not available, ignored" in decision.reason


def test_decide_breaks_creation_date_ties_deterministically() -> None:
    same_time = [image("ami-a", name="golden-a"), image("ami-b", name="golden-b")]
    assert decide(same_time, SOURCE, HASH, 30, NOW).ami_id == "ami-b"
    assert decide(list(reversed(same_time)), SOURCE, HASH, 30, NOW).ami_id == "ami-b"


# --- cleanup plan --------------------------------------------------------------------------------------------


def test_cleanup_plan_keeps_newest_and_protected_and_unavailable() -> None:
    images = [
        image("ami-1", days_old=1),
        image("ami-2", days_old=2),
        image("ami-3", days_old=3),
        image("ami-4", days_old=4),
        image("ami-p", days_old=9, state="pending"),
    ]
    assert [i.image_id for i in cleanup_plan(images, keep=2)] == ["ami-3", "ami-4"]
    assert [i.image_id for i in cleanup_plan(images, keep=2, protect=["ami-4"])] == ["ami-3"]
    assert cleanup_plan(images, keep=10) == []


def test_cleanup_plan_rejects_keep_below_one() -> None:
    with pytest.raises(GoldenAmiError, match="keep must be at least 1"):
        cleanup_plan([], keep=0)


# --- inputs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "age", "region", "message"),
    [
        ("sparc", 30, "us-east-1", "unknown arch 'sparc'"),
        ("x86_64", -1, "us-east-1", "max_age_days must be 0"),
        ("arm64", 30, None, "region is required"),
        ("arm64", 30, "", "region is required"),
    ],
)
def test_validate_inputs_rejects(arch: str, age: int, region: str | None, message: str) -> None:
    with pytest.raises(GoldenAmiError, match=message):
        validate_inputs(arch, age, region)


def test_validate_inputs_accepts() -> None:
    validate_inputs("arm64", 0, "eu-west-1")


def test_parse_creation_date() -> None:
    assert parse_creation_date("2024-05-01T10:00:00.000Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_creation_date("") == datetime.fromtimestamp(0, UTC)
