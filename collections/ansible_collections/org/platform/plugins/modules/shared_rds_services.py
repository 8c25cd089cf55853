#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate and normalise the shared RDS service list before any SQL runs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: shared_rds_services
short_description: Validate the shared RDS service list and plan each service's database, user and secret
description:
  - Checks every entry of the inventory's service list against a strict allow-list before anything touches
    MySQL or AWS, and returns the normalised plan the C(org.platform.shared_rds_schemas) role works from.
  - A service name must match C(^[a-z][a-z0-9_]{0,26}$) (its user C(<service>_user) must fit MySQL's 32
    characters) and must not be a server schema (C(mysql), C(sys), ...). Hostile or malformed names are
    refused with the reason, never escaped.
  - Privileges default to the seed guide's grant (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER);
    a service may list other database-level privileges, never global or administrative ones.
  - C(state=absent) needs C(confirm_drop) equal to the service's name.
  - Each grant names its database with the LIKE wildcards C(_) and C(%) escaped, as in C(ab\_c.*); unescaped,
    MySQL and MariaDB would let the user of C(ab_c) reach C(abxc) as well.
  - Also checks the role's settings that reach SQL or Secrets Manager (O(charset), O(collation),
    O(password_length), O(recovery_window_days)), so that the role refuses them, visibly, before anything changes.
  - Changes nothing; supports check mode.
version_added: 0.1.0
author: Platform team (@org-platform)
options:
  services:
    description:
      - The service list. Each entry is a service name or a mapping with C(name) and optionally
        C(privileges) (list), C(rotate) (bool), C(state) (present or absent) and C(confirm_drop).
    type: list
    elements: raw
    required: true
  environment:
    description:
      - Environment name (the one rule of every module, up to 32 characters); the secret of a service is
        C(/<environment>/<service>/db-credentials).
    type: str
    required: true
    aliases: [env]
  rotate:
    description:
      - Services whose password is rotated in this run, on top of those with C(rotate=true) in the list.
      - Each must be a present service of the list.
    type: list
    elements: str
    default: []
  charset:
    description:
      - Character set of the service databases; one of C(utf8mb4), C(utf8mb3), C(latin1), C(ascii), C(binary).
    type: str
    default: utf8mb4
  collation:
    description:
      - Collation of the service databases, C(<charset>_<lower-case name>) (C(binary) for the binary set). The role
        also checks it against the server's C(information_schema.COLLATIONS) before any C(ALTER DATABASE).
    type: str
    default: utf8mb4_unicode_ci
  password_length:
    description: Length of generated passwords; 32 to 4096. Not checked when omitted.
    type: int
  recovery_window_days:
    description: Recovery window of a deleted secret; 7 to 30 (Secrets Manager's range). Not checked when omitted.
    type: int
attributes:
  check_mode:
    support: full
    description: Validates only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
"""

EXAMPLES = r"""
- name: Validate the service list
  org.platform.shared_rds_services:
    env: dev
    services:
      - name: fileflow
      - name: authhub
        privileges: [SELECT, INSERT, UPDATE, DELETE]
      - name: crawler
        rotate: true
  register: plan
"""

RETURN = r"""
services:
  description: The normalised plan, one entry per service, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Service name.
      type: str
      returned: always
      sample: file_flow
    database:
      description: Its database.
      type: str
      returned: always
      sample: file_flow
    username:
      description: Its MySQL user, C(<service>_user).
      type: str
      returned: always
      sample: file_flow_user
    secret_name:
      description: Its Secrets Manager secret, C(/<env>/<service>/db-credentials).
      type: str
      returned: always
      sample: /dev/file_flow/db-credentials
    privileges:
      description: Privileges on its database only, canonical order.
      type: list
      elements: str
      returned: always
      sample: [SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER]
    grant_database:
      description: The database as the grant names it, with C(_) and C(%) escaped.
      type: str
      returned: always
      sample: 'file\_flow'
    priv:
      description: The grant in community.mysql.mysql_user's priv form (database wildcards escaped).
      type: dict
      returned: always
      sample: {'file\_flow.*': 'SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER'}
    rotate:
      description: Whether to rotate its password in this run.
      type: bool
      returned: always
      sample: false
    state:
      description: C(present) or C(absent).
      type: str
      returned: always
      sample: present
charset:
  description: The validated character set.
  returned: success
  type: str
  sample: utf8mb4
collation:
  description: The validated collation.
  returned: success
  type: str
  sample: utf8mb4_unicode_ci
"""

from ansible_collections.org.platform.plugins.module_utils.shared_rds_services import MODULE


def main() -> None:
    """Run where the action plugin is not used; the same result (module_utils/pure_module.py)."""
    MODULE.main()


if __name__ == "__main__":
    main()
