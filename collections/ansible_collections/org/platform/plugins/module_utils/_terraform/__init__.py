# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private parts of the Terraform stack runner (``stack_runner`` orchestrates them).

``config`` reads a stack's files offline; ``validate`` checks a run before anything runs; ``scheduler`` orders
the jobs (graphlib); ``jobs`` is one job per stack and action; ``workspace`` runs the Terraform commands in a
stack's private directory; ``outputs`` holds the output values and their masked copies; ``backend`` renders the
S3 backend and explains a held lock; ``results`` is what a run reports; ``launcher`` starts the bundled engine.
"""
