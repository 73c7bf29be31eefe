terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Local state: this root is applied once per account by an administrator (README,
  # Bootstrap); keep its terraform.tfstate safe, or move it into the bucket it creates
  # afterwards (terraform init -migrate-state with a backend "s3" block).
}
