//! Links `pulse` as a fixed-address executable on Linux. As a position-independent one it
//! spends about half its start-up (2.4 of 4.6 ms, 320 of 470 page faults; BENCHMARKS.md,
//! issue 14, "Start-up") applying 68,000 load-time relocations and copying the pages they touch,
//! which on a short replay is an eighth of the run. The libraries it loads keep their
//! randomised addresses; the executable's own code is Rust.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
