# Helpers shared by every policy in package main (Conftest layout: all policy/*.rego files are one package).
#
# Input: the JSON of `terraform show -json <planfile>`. Policies read only `input.resource_changes`
# (address, module_address, mode, type, name, action_reason, change.actions/before/after) and
# `input.gate`: the org.platform plan gate passes just those (sensitive values masked) to keep rego-cpp's
# work small. `input.gate` (environment, stack, protected_addresses, protected_overrides) is the gate's
# own key; under conftest it is absent and every rule still works (no overrides, no extra protected
# addresses).
#
# rego-cpp (regopy) quirks these files work around: sprintf("%s") quotes computed strings (use concat),
# `some k, v in x` cannot sit inside a comprehension, and sets of whole objects are slow (use arrays).
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
changed := [rc |
	some rc in input.resource_changes
	rc.mode == "managed"
	creates_or_updates(rc.change.actions)
]

creates_or_updates(actions) if "create" in actions

creates_or_updates(actions) if "update" in actions

# The planned values of a changed resource (create/update always have an `after`).
after_of(rc) := rc.change.after

# Tags the resource will carry: tags_all (includes the provider's default_tags) when it is known, else
# tags. Computed once per plan and looked up by address (rego-cpp re-evaluates functions per call).
resource_tags := {rc.address: tags_from(rc.change.after) | some rc in changed}

tags_from(after) := after.tags_all if {
	is_object(after.tags_all)
} else := after.tags if {
	is_object(after.tags)
} else := {}

tags_of(rc) := resource_tags[rc.address]

# Resources whose type has tags at all.
taggable_addresses := {rc.address |
	some rc in changed
	some key in ["tags", "tags_all"]
	key in object.keys(rc.change.after)
}

taggable(rc) if rc.address in taggable_addresses

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
