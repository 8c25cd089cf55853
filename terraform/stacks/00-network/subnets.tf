resource "aws_subnet" "public" {
  count = length(var.azs)

  vpc_id            = aws_vpc.this.id
  availability_zone = var.azs[count.index]
  cidr_block        = local.public_cidrs[count.index]

  # Nothing gets a public address by default: NAT gateways use Elastic IPs and load balancers their own.
  map_public_ip_on_launch = false

  tags = merge(module.tags.tags, {
    Name                     = "${local.name}-public-${var.azs[count.index]}"
    Tier                     = "public"
    "kubernetes.io/role/elb" = "1"
  })
}

resource "aws_subnet" "private" {
  count = length(var.azs)

  vpc_id                  = aws_vpc.this.id
  availability_zone       = var.azs[count.index]
  cidr_block              = local.private_cidrs[count.index]
  map_public_ip_on_launch = false

  tags = merge(module.tags.tags, {
    Name                              = "${local.name}-private-${var.azs[count.index]}"
    Tier                              = "private"
    "kubernetes.io/role/internal-elb" = "1"
  })
}

resource "aws_subnet" "db" {
  count = length(var.azs)

  vpc_id                  = aws_vpc.this.id
  availability_zone       = var.azs[count.index]
  cidr_block              = local.db_cidrs[count.index]
  map_public_ip_on_launch = false

  tags = merge(module.tags.tags, {
    Name = "${local.name}-db-${var.azs[count.index]}"
    Tier = "db"
  })
}
