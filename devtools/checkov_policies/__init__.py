# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The project's own checkov checks, loaded with ``checkov --external-checks-dir devtools/checkov_policies``.

checkov imports every module in this directory inside its own virtualenv (``.venv-checkov``), so the
modules here import only checkov. Suppress one with ``# checkov:skip=CKV_ORG_<n>:<reason>`` in the resource,
like any checkov check (https://www.checkov.io/2.Basics/Suppressing%20and%20Skipping%20Policies.html).
"""
