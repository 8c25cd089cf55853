# No delete or replace of a protected resource: every action shape that contains "delete" (["delete"],
# ["delete","create"], and create-before-destroy ["create","delete"]). ["forget"] (a `removed` block with
# destroy = false) leaves the object in AWS and is only a warning.
#
# Protected: the shared RDS (aws_db_instance, aws_rds_cluster), KMS keys, the Terraform state bucket
# ({org}-terraform-state-{account}, roles/state_backend), and the addresses the gate names per stack
# (input.gate.protected_addresses). A run lets one through only by naming its exact address in
# input.gate.protected_overrides (the runner's explicit override).
package main

import rego.v1

protected_types := {"aws_db_instance", "aws_rds_cluster", "aws_kms_key"}

protected(rc) if rc.type in protected_types

protected(rc) if {
	rc.type == "aws_s3_bucket"
	contains(object.get(object.get(rc.change, "before", {}) , "bucket", ""), "-terraform-state-")
}

protected(rc) if rc.address in object.get(gate, "protected_addresses", [])

overridden(rc) if rc.address in object.get(gate, "protected_overrides", [])

destroys(rc) if "delete" in rc.change.actions

deny contains finding("protected", rc.address, concat("", ["protected resource would be destroyed (actions ", concat(",", rc.change.actions), reason_text(rc), "); name it in an explicit override to allow it"])) if {
	some rc in input.resource_changes
	rc.mode == "managed"
	destroys(rc)
	protected(rc)
	not overridden(rc)
}

warn contains finding("protected", rc.address, concat("", ["protected resource destroyed under an explicit override (actions ", concat(",", rc.change.actions), ")"])) if {
	some rc in input.resource_changes
	destroys(rc)
	protected(rc)
	overridden(rc)
}

warn contains finding("protected", rc.address, "removed from state without being destroyed (forget): it stays in AWS, unmanaged") if {
	some rc in input.resource_changes
	"forget" in rc.change.actions
	protected(rc)
}

reason_text(rc) := concat("", [", ", rc.action_reason]) if is_string(rc.action_reason)

reason_text(rc) := "" if not is_string(rc.action_reason)
