# Required tags on every taggable resource the plan creates or updates, with value formats
# (inventories/*/group_vars/all/main.yml platform_tags; terraform/modules/common-tags).
package main

import rego.v1

environments := {"dev", "stg", "prod", "sandbox"}

# tag => [regular expression, what the value must look like]
tag_formats := {
	"Environment": ["^(dev|stg|prod|sandbox)$", "one of dev, stg, prod, sandbox"],
	"Service": ["^[a-z][a-z0-9-]{0,30}[a-z0-9]$", "lower-case letters, digits and hyphens (e.g. platform)"],
	"Team": ["^[a-z][a-z0-9-]{0,30}[a-z0-9]$", "lower-case letters, digits and hyphens (e.g. platform)"],
	"Owner": ["^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", "an e-mail address (e.g. platform-team@example.com)"],
	"CostCenter": ["^[a-z][a-z0-9]*(-[a-z0-9]+)*$", "lower-case words joined by hyphens (e.g. platform-dev)"],
	"ManagedBy": ["^terraform$", "terraform"],
}

required_tags := object.keys(tag_formats)

deny contains finding("tags", rc.address, concat("", ["required tag ", key, " is missing"])) if {
	some rc in changed
	taggable(rc)
	tags := tags_of(rc)
	present := {key | some key in object.keys(tags); is_string(tags[key])}
	some key in required_tags - present
}

# The formats are checked once per distinct value (a stack's resources share their tags), then looked up.
tag_values contains [key, value] if {
	some rc in changed
	some key, value in tags_of(rc)
	tag_formats[key]
	is_string(value)
}

bad_tag_values contains [key, value] if {
	some pair in tag_values
	[key, value] := pair
	not regex.match(tag_formats[key][0], value)
}

deny contains finding("tags", rc.address, concat("", ["tag ", key, " must be ", tag_formats[key][1]])) if {
	some rc in changed
	some key, value in tags_of(rc)
	[key, value] in bad_tag_values
}

# The run's environment, when the gate passes it, must be the one the resources say.
deny contains finding("tags", rc.address, concat("", ["tag Environment is not this run's environment ", env])) if {
	env := gate.environment
	some rc in changed
	taggable(rc)
	value := tags_of(rc).Environment
	is_string(value)
	value in environments
	value != env
}
