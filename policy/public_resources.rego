# No public S3 bucket and no publicly accessible RDS instance.
package main

import rego.v1

public_acls := {"public-read", "public-read-write", "authenticated-read"}

block_flags := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

deny contains finding("public-resources", rc.address, concat("", [flag, " is not true: every bucket blocks public access"])) if {
	some rc in changed
	rc.type == "aws_s3_bucket_public_access_block"
	after := after_of(rc)
	some flag in block_flags
	object.get(after, flag, false) != true
}

deny contains finding("public-resources", rc.address, concat("", ["canned ACL ", acl, " makes the bucket public"])) if {
	some rc in changed
	rc.type in {"aws_s3_bucket", "aws_s3_bucket_acl"}
	acl := after_of(rc).acl
	acl in public_acls
}

deny contains finding("public-resources", rc.address, "publicly_accessible is true: RDS instances are reached from the VPC only") if {
	some rc in changed
	rc.type in {"aws_db_instance", "aws_rds_cluster_instance"}
	after_of(rc).publicly_accessible == true
}

# A new bucket whose plan has no public access block for it at all.
warn contains finding("public-resources", rc.address, "new bucket without an aws_s3_bucket_public_access_block in this plan") if {
	some rc in changed
	rc.type == "aws_s3_bucket"
	"create" in rc.change.actions
	not bucket_has_block(rc)
}

bucket_has_block(bucket) if object.get(bucket, "module_address", "") in modules_with("aws_s3_bucket_public_access_block")

# The module addresses ("" for the root module) in which this plan creates or updates a resource of a type.
modules_with(resource_type) := {object.get(rc, "module_address", "") |
	some rc in changed
	rc.type == resource_type
}
