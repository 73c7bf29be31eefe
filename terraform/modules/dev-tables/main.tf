# Tables of the same key schema as the data platform's events and coins tables, with streams
# on: for dev and for the emulator rehearsal only. Production reads the platform's tables.

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:dev and emulator tables hold replayed public market data; the AWS managed key suffices
  for_each = toset(var.table_names)

  name             = each.value
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "PK"
  range_key        = "SK"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "N"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  tags = var.tags
}
