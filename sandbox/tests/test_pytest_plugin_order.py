# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plugin's collection order for the xdist workers: heaviest modules first, everything else as collected."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sandbox.pytest_plugin import pytest_collection_modifyitems


class FakeItem:
    def __init__(self, module: str, name: str, *marks) -> None:
        self.module = SimpleNamespace(__name__=module)
        self.name = name
        self.marks = marks

    def iter_markers(self, name: str):
        return (mark.mark for mark in self.marks if mark.mark.name == name)


def order(items) -> list[str]:
    pytest_collection_modifyitems(None, items)
    return [f"{item.module.__name__}::{item.name}" for item in items]


def test_heaviest_modules_first_and_the_rest_in_collection_order():
    items = [
        FakeItem("a", "1"),
        FakeItem("light", "1", pytest.mark.slow(seconds=10)),
        FakeItem("b", "1", pytest.mark.slow),  # slow without a weight: as collected
        FakeItem("heavy", "1", pytest.mark.slow(seconds=300)),
        FakeItem("heavy", "2", pytest.mark.slow(seconds=300)),
        FakeItem("light", "2", pytest.mark.slow(seconds=10)),
        FakeItem("a", "2"),
    ]
    assert order(items) == ["heavy::1", "heavy::2", "light::1", "light::2", "a::1", "b::1", "a::2"]


def test_a_weight_on_one_test_weighs_its_whole_module_and_the_module_stays_together():
    items = [
        FakeItem("m", "1"),
        FakeItem("n", "1"),
        FakeItem("m", "2", pytest.mark.slow(seconds=5)),
        FakeItem("n", "2"),
    ]
    assert order(items) == ["m::1", "m::2", "n::1", "n::2"]
