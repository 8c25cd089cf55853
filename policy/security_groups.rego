# Ingress: nothing open to the world (0.0.0.0/0, ::/0) except a public load balancer's 80/443, and no
# needless open ports from address ranges (all protocols, port ranges, remote-admin ports).
#
# The exception needs both: an internet-facing aws_lb in the same plan, and the rule marked as that
# load balancer's listener ingress with the tag Exposure = "public-lb". Everything else reaches
# instances through identity security groups (references), never CIDRs (SPEC: identity-only ingress).
package main

import rego.v1

public_lb_ports := {80, 443}

admin_ports := {22, 3389}

# One normalised ingress rule: {address, cidrs, protocol, from, to, tags} from the three ways to write one.
ingress_rules contains rule if {
	some rc in changed
	rc.type == "aws_vpc_security_group_ingress_rule"
	after := after_of(rc)
	cidrs := [cidr | some key in ["cidr_ipv4", "cidr_ipv6"]; cidr := after[key]; is_string(cidr)]
	count(cidrs) > 0
	rule := {
		"address": rc.address,
		"cidrs": cidrs,
		"protocol": protocol_name(object.get(after, "ip_protocol", "-1")),
		"from": object.get(after, "from_port", null),
		"to": object.get(after, "to_port", null),
		"tags": tags_of(rc),
	}
}

ingress_rules contains rule if {
	some rc in changed
	rc.type == "aws_security_group_rule"
	after := after_of(rc)
	after.type == "ingress"
	cidrs := array.concat(list_of(after, "cidr_blocks"), list_of(after, "ipv6_cidr_blocks"))
	count(cidrs) > 0
	rule := {
		"address": rc.address,
		"cidrs": cidrs,
		"protocol": protocol_name(after.protocol),
		"from": after.from_port,
		"to": after.to_port,
		"tags": {},
	}
}

ingress_rules contains rule if {
	some rc in changed
	rc.type == "aws_security_group"
	some i, block in list_of(after_of(rc), "ingress")
	cidrs := array.concat(list_of(block, "cidr_blocks"), list_of(block, "ipv6_cidr_blocks"))
	count(cidrs) > 0
	rule := {
		"address": concat("", [rc.address, ".ingress[", format_int(i, 10), "]"]),
		"cidrs": cidrs,
		"protocol": protocol_name(block.protocol),
		"from": block.from_port,
		"to": block.to_port,
		"tags": tags_of(rc),
	}
}

all_protocols := {"-1", "all"}

public_lb_in_plan if {
	some rc in changed
	rc.type in {"aws_lb", "aws_alb"}
	after_of(rc).internal == false
}

public_lb_listener_rule(rule) if {
	public_lb_in_plan
	rule.tags.Exposure == "public-lb"
	rule.protocol in {"tcp", "6"}
	rule.from == rule.to
	rule.from in public_lb_ports
}

deny contains finding("security-groups", rule.address, "ingress from 0.0.0.0/0 or ::/0 (only an internet-facing load balancer's tcp 80/443, tagged Exposure=public-lb, may be open to the world)") if {
	some rule in ingress_rules
	any_open(rule.cidrs)
	not public_lb_listener_rule(rule)
}

deny contains finding("security-groups", rule.address, "ingress of all protocols and ports from an address range: open only the ports the service needs") if {
	some rule in ingress_rules
	rule.protocol in all_protocols
}

deny contains finding("security-groups", rule.address, concat("", ["ingress port range ", format_int(rule.from, 10), "-", format_int(rule.to, 10), " from an address range: open single ports"])) if {
	some rule in ingress_rules
	not rule.protocol in all_protocols
	is_number(rule.from)
	is_number(rule.to)
	rule.from != rule.to
}

deny contains finding("security-groups", rule.address, concat("", ["remote-administration port ", format_int(port, 10), " open to an address range: nodes are reached over SSM"])) if {
	some rule in ingress_rules
	some port in admin_ports
	is_number(rule.from)
	is_number(rule.to)
	rule.from <= port
	port <= rule.to
}

# ip_protocol as a lower-case name ("tcp", "-1"); numbers (6, -1) as their decimal text.
protocol_name(protocol) := lower(protocol) if is_string(protocol)

protocol_name(protocol) := format_int(protocol, 10) if is_number(protocol)
