//! The Terraform under `terraform/`, checked three ways:
//!
//! 1. [`invariants`]: static invariants read from the HCL (hcl-rs).
//! 2. [`iam`]: every AWS SDK operation each function's code calls is listed with its IAM
//!    action and resource (checked against the code), and is allowed by the function's policy.
//! 3. [`rehearsal`]: `terraform apply` of `terraform/envs/dev` against `moto_server`, the
//!    resources read back, the IAM inventory against the rendered policies, each function's
//!    smoke mode and a workload run with its own role while moto enforces IAM, `destroy`.
//!
//! [`hcl`] loads the HCL; [`emulator`] holds the rehearsal's tools (temporary copy, zips,
//! Terraform runner, moto admin calls, recording proxy).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod data_health;
mod emulator;
mod hcl;
mod iam;
mod invariants;
mod rehearsal;
