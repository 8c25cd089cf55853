# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""stack_graph on the repository's contract (terraform/stacks.yml)."""

from __future__ import annotations

import yaml
from ansible_collections.org.platform.plugins.module_utils.stack_graph import (
    graph_from_contract,
)

from sandbox.pytest_plugin import REPO_ROOT

REPO = REPO_ROOT


def test_the_repository_contract_loads():
    graph = graph_from_contract(yaml.safe_load((REPO / "terraform" / "stacks.yml").read_text()), REPO / "terraform")
    order = graph.order()
    assert order.index("00-network") < order.index("10-security") < order.index("50-rke2")
    assert set(order) >= {
        "00-network",
        "10-security",
        "40-bastion",
        "45-harbor",
        "50-rke2",
        "60-db",
        "70-observability",
    }
