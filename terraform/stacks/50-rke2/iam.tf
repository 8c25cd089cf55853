# One role for every node: SSM managed instance core, plus read of the RKE2 artifact prefix.
data "aws_iam_policy_document" "assume_ec2" {
  statement {
    sid     = "Ec2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name               = "${local.name}-node"
  description        = "RKE2 nodes of ${var.cluster_name}: SSM core and read of the artifact prefix"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json

  tags = merge(module.tags.tags, { Name = "${local.name}-node" })
}

resource "aws_iam_role_policy_attachment" "node_ssm_core" {
  role       = aws_iam_role.node.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "artifacts" {
  count = var.artifact_bucket == "" ? 0 : 1

  statement {
    sid       = "ListArtifactPrefix"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.artifact_bucket}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["rke2/", "rke2/*"]
    }
  }

  statement {
    sid       = "ReadArtifactPrefix"
    actions   = ["s3:GetObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${var.artifact_bucket}/rke2/*"]
  }
}

resource "aws_iam_role_policy" "artifacts" {
  count = var.artifact_bucket == "" ? 0 : 1

  name   = "read-rke2-artifacts"
  role   = aws_iam_role.node.id
  policy = data.aws_iam_policy_document.artifacts[0].json
}

resource "aws_iam_instance_profile" "node" {
  name = "${local.name}-node"
  role = aws_iam_role.node.name

  tags = merge(module.tags.tags, { Name = "${local.name}-node" })
}
