# Encryption at rest: RDS storage, EBS volumes (root and attached), EFS; S3 and secrets get a warning when
# they fall back to AWS-managed keys.
package main

import rego.v1

deny contains finding("encryption", rc.address, "storage_encrypted is not true") if {
	some rc in changed
	rc.type in {"aws_db_instance", "aws_rds_cluster"}
	not after_of(rc).replicate_source_db
	after_of(rc).storage_encrypted != true
}

deny contains finding("encryption", rc.address, "encrypted is not true") if {
	some rc in changed
	rc.type in {"aws_ebs_volume", "aws_efs_file_system"}
	after_of(rc).encrypted != true
}

deny contains finding("encryption", rc.address, concat("", [block_name, "[", format_int(i, 10), "].encrypted is not true"])) if {
	some rc in changed
	rc.type in {"aws_instance", "aws_launch_template"}
	some block_name in ["root_block_device", "ebs_block_device"]
	some i, block in list_of(after_of(rc), block_name)
	object.get(block, "encrypted", false) != true
}

warn contains finding("encryption", rc.address, "new bucket without an aws_s3_bucket_server_side_encryption_configuration in this plan (S3 falls back to SSE-S3)") if {
	some rc in changed
	rc.type == "aws_s3_bucket"
	"create" in rc.change.actions
	not bucket_has_sse(rc)
}

bucket_has_sse(bucket) if {
	object.get(bucket, "module_address", "") in modules_with("aws_s3_bucket_server_side_encryption_configuration")
}

warn contains finding("encryption", rc.address, "no kms_key_id: the secret is encrypted with the AWS-managed key") if {
	some rc in changed
	rc.type == "aws_secretsmanager_secret"
	not after_of(rc).kms_key_id
	not object.get(object.get(rc.change, "after_unknown", {}), "kms_key_id", false)
}
