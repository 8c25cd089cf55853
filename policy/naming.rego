# Names follow {env}-{service}-{resource}: the Environment and Service tags, lower case, then the resource
# part (lower-case letters, digits and hyphens). Checked on the Name tag and on the name attribute of the
# types whose name is an identity in AWS. Prefix-style names (log groups, KMS aliases, SSM parameters) are
# paths, not names, and are not checked.
package main

import rego.v1

name_attributes := {
	"aws_db_instance": "identifier",
	"aws_db_subnet_group": "name",
	"aws_db_parameter_group": "name",
	"aws_iam_role": "name",
	"aws_lb": "name",
	"aws_lb_target_group": "name",
	"aws_s3_bucket": "bucket",
	"aws_security_group": "name",
}

# The name candidates of a resource: [where, value] for each known string.
names_of(rc) := array.concat(
	[["tag Name", name] | name := tags_of(rc).Name; is_string(name)],
	[[concat(" ", ["attribute", attribute]), name] |
		attribute := name_attributes[rc.type]
		name := after_of(rc)[attribute]
		is_string(name)
	],
)

name_prefix(rc) := prefix if {
	tags := tags_of(rc)
	is_string(tags.Environment)
	is_string(tags.Service)
	prefix := lower(concat("-", [tags.Environment, tags.Service, ""]))
}

deny contains finding("naming", rc.address, concat("", [where, " must be {env}-{service}-{resource}: start with ", prefix, " then lower-case letters, digits and hyphens"])) if {
	some rc in changed
	prefix := name_prefix(rc)
	some candidate in names_of(rc)
	[where, name] := candidate
	not valid_name(prefix, name)
}

valid_name(prefix, name) if {
	startswith(name, prefix)
	rest := substring(name, count(prefix), -1)
	regex.match("^[a-z0-9][a-z0-9-]*$", rest)
}
