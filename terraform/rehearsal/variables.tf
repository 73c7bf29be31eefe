variable "endpoint" {
  description = "URL of the AWS emulator, e.g. http://127.0.0.1:5000."
  type        = string
}

variable "artifacts_dir" {
  description = "Directory holding <function>/bootstrap.zip (placeholders are fine: the emulator does not run them)."
  type        = string
}
