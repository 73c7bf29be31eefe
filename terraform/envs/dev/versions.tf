terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket, region and dynamodb_table come from
  # `terraform init -backend-config=...` (see terraform/README.md and deploy.yml).
  backend "s3" {
    key     = "pulse/dev/terraform.tfstate"
    encrypt = true
  }
}
