#!/usr/bin/env bash
# DLQ redrive benchmark: starts moto_server on a free loopback port, redrives 1,000 messages
# at an unlimited rate and at 50/s, prints a Markdown table (see BENCHMARKS.md, "DLQ redrive").
# Usage: scripts/bench-dlq.sh [messages] [rate]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v moto_server >/dev/null || { echo "moto_server missing: pip install 'moto[server]>=5,<6'" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
cargo run --quiet --release -p dlq-redrive --example bench_redrive -- "http://127.0.0.1:$port" "${1:-1000}" "${2:-50}"
