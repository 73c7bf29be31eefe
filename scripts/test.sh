#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what is missing (redis-server, openssl,
# chromium for the report test,
# the AWS emulator moto_server, cargo-lambda), then runs fmt, clippy, every test, and the
# infrastructure checks. The tests start their own servers on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# The Redis TLS tests make a throwaway certificate with the openssl CLI.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# The report test (cli/tests/report.rs) opens `pulse replay --report` pages in headless Chromium.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]} (apt)"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
fi
if ! command -v moto_server >/dev/null 2>&1; then
  say "installing moto[server] (pip)"
  python3 -m pip install -q 'moto[server]>=5.0,<6'
fi
# The version scripts/package-lambdas.sh and the deploy workflow use.
if ! command -v cargo-lambda >/dev/null 2>&1; then
  say "installing cargo-lambda (pip)"
  python3 -m pip install -q 'cargo-lambda==1.9.2' || echo "cargo-lambda could not be installed: the cargo lambda tests will skip"
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
# pyenv shims are refreshed so newly installed console scripts are on PATH.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "tests"
# Here the browser test must run, not skip: chromium was installed above.
export PULSE_REQUIRE_BROWSER=1
cargo nextest run --workspace --locked --no-fail-fast

if [ -x scripts/check-infra.sh ]; then
  say "infrastructure checks"
  scripts/check-infra.sh
fi
