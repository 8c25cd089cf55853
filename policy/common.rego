# Helpers shared by every policy in package main (Conftest layout: all policy/*.rego files are one package).
#
# Input: the JSON of `terraform show -json <planfile>`. The org.platform plan gate adds one key,
# `input.gate` (environment, stack, protected_addresses, protected_overrides); under conftest it is
# absent, and every rule still works (no overrides, no extra protected addresses).
package main

import rego.v1

# finding(rule, address, reason) is what every deny/warn rule returns. Conftest prints `msg` and keeps the
# other keys as metadata; the gate reads rule, address and reason.
finding(rule, address, reason) := {
	"msg": concat("", ["[", rule, "] ", address, ": ", reason]),
	"rule": rule,
	"address": address,
	"reason": reason,
}

gate := object.get(input, "gate", {})

# Resources that this plan creates or updates (their `after` is the state the apply would leave).
changed contains rc if {
	some rc in input.resource_changes
	some action in rc.change.actions
	action in {"create", "update"}
	rc.mode == "managed"
}

after_of(rc) := object.get(rc.change, "after", {}) if rc.change.after != null

after_of(rc) := {} if rc.change.after == null

# Tags the resource will carry: tags_all (includes the provider's default_tags) when it is known, else tags.
tags_of(rc) := tags if {
	tags := after_of(rc).tags_all
	is_object(tags)
} else := tags if {
	tags := after_of(rc).tags
	is_object(tags)
} else := {}

taggable(rc) if "tags" in object.keys(after_of(rc))

taggable(rc) if "tags_all" in object.keys(after_of(rc))

open_cidrs := {"0.0.0.0/0", "::/0"}

# Any open CIDR in a list (null and unknown lists are not open).
any_open(cidrs) if {
	is_array(cidrs)
	some cidr in cidrs
	cidr in open_cidrs
}

# object[key] when it is a list, else [] (null, absent and unknown values are empty).
list_of(object, key) := value if {
	value := object[key]
	is_array(value)
} else := []
