# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ordered phases that apply a plan: ``lb``, ``eni``, ``sg`` (each bounded by its timeout and the deadline).

One module per phase (``phase_lb``, ``phase_eni``, ``phase_sg``); what they share (the plan, the counted AWS
calls, what was done so far, bounded sleeps and backoff) is ``phase_base.PhaseContext``.
"""

from __future__ import annotations

from ansible_collections.org.platform.plugins.module_utils._cleanup.phase_base import (
    NOT_FOUND_CODES,
    PhaseContext,
    sleep_until,
)
from ansible_collections.org.platform.plugins.module_utils._cleanup.phase_eni import NetworkInterfacePhase
from ansible_collections.org.platform.plugins.module_utils._cleanup.phase_lb import LoadBalancerPhase
from ansible_collections.org.platform.plugins.module_utils._cleanup.phase_sg import SecurityGroupPhase

__all__ = ["NOT_FOUND_CODES", "Phases", "sleep_until"]


class Phases(PhaseContext):
    """Applies one plan; what it did is in ``deleted``, ``revoked_rules``, ``released_enis``, ``blockers``."""

    def phase_lb(self) -> None:
        LoadBalancerPhase(self).run()

    def phase_eni(self) -> None:
        """Delete/detach what may be touched, wait (bounded) for what AWS releases itself."""
        NetworkInterfacePhase(self).run()

    def phase_sg(self) -> None:
        SecurityGroupPhase(self).run()
