resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(module.tags.tags, { Name = "${local.name}-igw" })
}

# --- public tier: default route to the internet gateway ---------------------------------------------
resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = merge(module.tags.tags, { Name = "${local.name}-public-rt", Tier = "public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(var.azs)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# --- NAT for the private tier only (none | single | per_az) -----------------------------------------
resource "aws_eip" "nat" {
  count = local.nat_gateway_count

  domain = "vpc"

  tags = merge(module.tags.tags, { Name = "${local.name}-nat-${var.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_gateway_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = merge(module.tags.tags, { Name = "${local.name}-nat-${var.azs[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

# --- private tier: one route table per AZ, so per_az NAT keeps traffic in its zone -------------------
resource "aws_route_table" "private" {
  count = length(var.azs)

  vpc_id = aws_vpc.this.id

  tags = merge(module.tags.tags, { Name = "${local.name}-private-rt-${var.azs[count.index]}", Tier = "private" })
}

resource "aws_route" "private_nat" {
  count = local.nat_gateway_count == 0 ? 0 : length(var.azs)

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.nat_mode == "per_az" ? count.index : 0].id
}

resource "aws_route_table_association" "private" {
  count = length(var.azs)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# --- db tier: local routes and the S3 gateway endpoint only. No 0.0.0.0/0 route, ever. ---------------
resource "aws_route_table" "db" {
  vpc_id = aws_vpc.this.id

  tags = merge(module.tags.tags, { Name = "${local.name}-db-rt", Tier = "db" })
}

resource "aws_route_table_association" "db" {
  count = length(var.azs)

  subnet_id      = aws_subnet.db[count.index].id
  route_table_id = aws_route_table.db.id
}
