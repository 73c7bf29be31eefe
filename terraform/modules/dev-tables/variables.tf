variable "table_names" {
  description = "Names of the tables to create (events and coins; one name when they are the same table)."
  type        = list(string)
}

variable "tags" {
  description = "Tags for every table."
  type        = map(string)
  default     = {}
}
