# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private parts of the Terraform stack runner (``stack_runner``): reading stacks, launching the engine."""
