variable "region" {
  description = "Region of the state bucket and of the environments, e.g. \"us-east-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as \"us-east-1\"."
  }
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose workflows may assume the roles, e.g. \"acme/pulse\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository)) && !startswith(lower(var.github_repository), "your-org/")
    error_message = "github_repository must be owner/name of the real repository, e.g. \"acme/pulse\"."
  }
}

variable "environments" {
  description = "Environments to create a deploy role, a dlq role and a permissions boundary for; each must be a GitHub environment of the repository."
  type        = list(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9]{1,15}$", e))])
    error_message = "environments must be 2..16 lower-case letters or digits each, e.g. [\"dev\", \"staging\", \"prod\"]."
  }
}

variable "state_bucket_name" {
  description = "Name of the state bucket; null for pulse-tfstate-<account id>."
  type        = string
  default     = null
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider; false where the organisation already has one (it is looked up then)."
  type        = bool
  default     = true
}
