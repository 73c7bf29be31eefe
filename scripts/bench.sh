#!/usr/bin/env bash
# Replay speed guard (issue 14): `pulse replay FILE --out /dev/null --quiet` on the real data
# sets, timed from outside (process start included), best of N runs, side by side with a plain
# Python `json.loads` loop over the same file as a yardstick (runs interleaved, so a noisy
# machine slows both). Prints a Markdown table; not a test, nothing is asserted.
# Usage: scripts/bench.sh [--runs N] [--engine] [--instructions] [--scale] [--no-build]
#   --engine    also run the criterion engine benchmark (about a minute more)
#   --instructions  also count instructions per record under valgrind's callgrind: the replay
#               on one thread (start-up included) and detection alone (the `detect` example of
#               pulse-core). The same count on every run of the same binary, so a change of a
#               few percent shows on a machine whose timings swing by more (a minute; needs
#               valgrind)
#   --scale     also the scale sets (scripts/scale-set.py, written to $TMPDIR and removed):
#               USDC minutes as 1,000 tokens (13.6 M records), and 1k / 10k / 100k keys, with
#               peak RSS per key (a few minutes, ~5 GB of temporary disk)
#   --no-build  use the binary as it is ($PULSE_BIN, default target/release/pulse)
# On a shared machine read the cpu columns (user + system of the whole process): wall time
# there measures the other load as much as pulse.
# Data: $PULSE_DATA_DIR or ../shared/data (see its README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5 engine=0 build=1 scale=0 instructions=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift ;;
    --engine) engine=1 ;;
    --instructions) instructions=1 ;;
    --scale) scale=1 ;;
    --no-build) build=0 ;;
    *) echo "unknown argument $1 (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
  shift
done
data="${PULSE_DATA_DIR:-../shared/data}"
[ -d "$data" ] || { echo "no data directory $data: set PULSE_DATA_DIR" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed for the timing and the yardstick" >&2; exit 1; }
if [ "$build" = 1 ]; then
  cargo build --quiet --release -p pulse-cli
fi
bin=${PULSE_BIN:-target/release/pulse}
[ -x "$bin" ] || { echo "$bin missing: run without --no-build" >&2; exit 1; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
# The yardstick's interpreter: $PYTHON, else the system one (a pyenv shim adds a second of
# start-up, and pyenv's own 3.11 build parses JSON ~1.7x slower than Debian's).
if [ -n "${PYTHON:-}" ]; then
  py="$PYTHON"
elif [ -x /usr/bin/python3 ]; then
  py=/usr/bin/python3
else
  py="$(command -v python3)"
fi
python3 - "$bin" "$data" "$runs" "$py" <<'EOF'
import os, resource, subprocess, sys, time
binary, data, runs, py = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sets = [
    ("chains (daily TVL)", "chains-2018-2023.tvl.ndjson"),
    ("USDC minutes", "usdc-depeg-2023-03.prices.ndjson"),
    ("stablecoins (daily)", "stablecoins-2020-2023.prices.ndjson"),
]
yardstick = "import json,sys\nfor l in open(sys.argv[1],'rb'):\n    json.loads(l)\n"

def timed(cmd):
    """Wall and CPU (user + system) seconds of one whole run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu

print(f"\nbest of {runs}, whole process (start-up included), events to /dev/null; yardstick {py}\n")
print("| input | records | pulse wall | M records/s | pulse cpu | M records/cpu-s | python wall | python cpu | python / pulse (wall, cpu) |")
print("|---|---|---|---|---|---|---|---|---|")
for name, file in sets:
    path = os.path.join(data, file)
    if not os.path.exists(path):
        print(f"| {name} | missing: {path} | | | | |")
        continue
    with open(path, "rb") as f:
        records = sum(1 for l in f if l.strip())
    pulse = [binary, "replay", path, "--out", "/dev/null", "--quiet"]
    python = [py, "-c", yardstick, path]
    timed(pulse); timed(python)  # warm the page cache and the binaries
    p, y = [], []
    for _ in range(runs):
        p.append(timed(pulse)); y.append(timed(python))
    bp, by = min(w for w, _ in p), min(w for w, _ in y)
    cp, cy = min(c for _, c in p), min(c for _, c in y)
    print(f"| {name} | {records:,} | {bp:.3f} s | {records / bp / 1e6:.2f} | {cp:.3f} s "
          f"| {records / max(cp, 1e-3) / 1e6:.2f} | {by:.3f} s | {cy:.3f} s "
          f"| {by / bp:.1f}x, {cy / max(cp, 1e-3):.1f}x |")
EOF
if [ "$engine" = 1 ]; then
  echo
  echo "criterion, one thread (cargo bench -p pulse-core --bench engine):"
  cargo bench --quiet -p pulse-core --bench engine 2>/dev/null |
    awk '/^[a-z_]+\/[a-z_]+/ {name = $1} /thrpt:/ {sub(/.*thrpt: */, ""); print "  " name " " $0}'
fi
if [ "$instructions" = 1 ]; then
  command -v valgrind >/dev/null || { echo "--instructions needs valgrind (apt-get install valgrind)" >&2; exit 1; }
  # With symbols, so callgrind finds `detect_all` by name; in a target directory of its own,
  # so the release build above is not rebuilt.
  CARGO_TARGET_DIR=target/instructions CARGO_PROFILE_RELEASE_STRIP=none \
    cargo build --quiet --release -p pulse-core --example detect
  itmp="$(mktemp -d "${TMPDIR:-/tmp}/pulse-instr.XXXXXX")"
  counted() { # instructions callgrind counted (all, or inside the function named by $1)
    local toggle=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$itmp/out" ${toggle:+--toggle-collect="$toggle"} \
      "$@" >/dev/null 2>"$itmp/err" || { cat "$itmp/err" >&2; return 1; }
    awk '/^(summary|totals):/ {print $2; exit}' "$itmp/out"
  }
  echo
  echo "instructions per record (valgrind --tool=callgrind):"
  echo
  echo "| input | records | replay, one thread, start-up included | detection alone |"
  echo "|---|---|---|---|"
  for file in chains-2018-2023.tvl.ndjson usdc-depeg-2023-03.prices.ndjson stablecoins-2020-2023.prices.ndjson; do
    path="$data/$file"
    [ -f "$path" ] || { echo "| $file | missing | | |"; continue; }
    records=$(grep -c . "$path")
    replay=$(counted "" "$bin" replay "$path" --threads 1 --out /dev/null --quiet --now 1700000000)
    detect=$(counted '*detect_all*' target/instructions/release/examples/detect "$path")
    awk -v f="$file" -v r="$records" -v a="$replay" -v d="$detect" '
      function group(n,  s, out) { s = sprintf("%d", n); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        return s out }
      BEGIN { printf "| %s | %s | %s | %s |\n", f, group(r), group(a / r), group(d / r) }'
  done
  rm -rf "$itmp"
fi
if [ "$scale" = 1 ]; then
  [ -x /usr/bin/time ] || { echo "--scale needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/pulse-scale.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  usdc="$data/usdc-depeg-2023-03.prices.ndjson"
  echo
  echo "scale sets (scripts/scale-set.py; one run each, events to /dev/null; RSS = peak resident set):"
  echo
  echo "| set | records | keys | wall | M records/s | cpu | peak RSS | RSS per key |"
  echo "|---|---|---|---|---|---|---|---|"
  # name, keys, first N source records (0 = all)
  for spec in "USDC minutes x 1,000 tokens:1000:0" "a day of USDC minutes x 1k:1000:1440" \
              "a day of USDC minutes x 10k:10000:1440" "3 h of USDC minutes x 100k:100000:180"; do
    IFS=: read -r name keys limit <<< "$spec"
    scripts/scale-set.py "$usdc" --keys "$keys" --limit "$limit" --out "$tmp/set.ndjson" 2>/dev/null
    records=$(wc -l < "$tmp/set.ndjson")
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$bin" replay "$tmp/set.ndjson" --out /dev/null --quiet >/dev/null 2>&1
    read -r wall user sys rss_kb < "$tmp/time"
    awk -v n="$name" -v r="$records" -v k="$keys" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss_kb" 'BEGIN {
      printf "| %s | %\047d | %\047d | %.2f s | %.2f | %.2f s | %.0f MB | %.0f B |\n", n, r, k, w, r / w / 1e6, u + s, m / 1024, m * 1024 / k }'
    rm -f "$tmp/set.ndjson"
  done
fi
