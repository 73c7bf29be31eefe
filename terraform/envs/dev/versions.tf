terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: bucket and region come from `terraform init -backend-config=...`
  # (terraform/README.md, deploy-environment.yml); terraform/bootstrap creates the bucket.
  # S3 native locking (a .tflock object beside the state), no DynamoDB table.
  backend "s3" {
    key          = "pulse/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
