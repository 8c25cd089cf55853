# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Development tooling of the repository, not shipped in the collection: static checks of the Terraform tree
(``tf_static``), the house policy rules checkov cannot express (``tf_policy``), the checkov runner and its
rule map (``checkov_scan``) with the house checkov checks (``checkov_policies/``, loaded by checkov itself),
and the sandbox contract twins (``stack_twins``).

The tests and ``tools/`` import it; no plugin does (the collection's ``plugins/`` holds only code a plugin uses).
"""
