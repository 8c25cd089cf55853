# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sandbox's RKE2 stand-in: release-shaped artifacts (``build``) and the ``bin/rke2`` they ship (``standin``).

RKE2 cannot be downloaded in the sandbox. The contract the stand-in keeps is in ``sandbox/rke2/README.md``.
"""
