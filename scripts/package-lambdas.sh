#!/usr/bin/env bash
# Builds the three Lambda zips once, for every environment: cargo lambda (pinned version,
# arm64, release), then a deterministic zip per function (fixed timestamps and modes) with
# what it needs at run time, and target/lambda/SHA256SUMS. The deploy workflow uploads these
# and promotes the same bytes dev -> staging -> prod.
#
#   scripts/package-lambdas.sh            # builds and packages
#   PULSE_SKIP_BUILD=1 scripts/package-lambdas.sh   # packages binaries already built
#
# Layout (PULSE_ROUTES_FILE in Terraform points at the environment's routes file):
#   target/lambda/detector/bootstrap.zip        bootstrap
#   target/lambda/alert-consumer/bootstrap.zip  bootstrap, routes/<env>.toml for every env
#   target/lambda/dlq-redrive/bootstrap.zip     bootstrap
# Fails when a required file is missing: terraform/envs/<env>/routes.toml of each env.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The one version the deploy workflow installs (pip install cargo-lambda==...).
CARGO_LAMBDA_VERSION="1.9.2"
ENVIRONMENTS=(dev staging prod)
FUNCTIONS=(detector alert-consumer dlq-redrive)
OUT="${CARGO_TARGET_DIR:-$ROOT/target}/lambda"

fail() {
  echo "package-lambdas: $*" >&2
  exit 1
}

# --- required files ------------------------------------------------------------------------
for env in "${ENVIRONMENTS[@]}"; do
  routes="terraform/envs/$env/routes.toml"
  [[ -f "$routes" ]] || fail "$routes is missing: every environment needs its alert consumer routes (format: functions/alert-consumer/routes.example.toml)"
done

# --- build -----------------------------------------------------------------------------------
if [[ "${PULSE_SKIP_BUILD:-0}" != 1 ]]; then
  version="$(cargo lambda --version 2>/dev/null | awk '{print $2}')" ||
    fail "cargo-lambda is not installed: pip install cargo-lambda==$CARGO_LAMBDA_VERSION"
  [[ "$version" == "$CARGO_LAMBDA_VERSION" ]] ||
    fail "cargo-lambda $version found, $CARGO_LAMBDA_VERSION required (pip install cargo-lambda==$CARGO_LAMBDA_VERSION)"
  for function in "${FUNCTIONS[@]}"; do
    cargo lambda build --release --arm64 --locked --package "$function" --bin "$function"
  done
fi

# --- zips --------------------------------------------------------------------------------------
for function in "${FUNCTIONS[@]}"; do
  [[ -f "$OUT/$function/bootstrap" ]] || fail "$OUT/$function/bootstrap is missing: the build did not produce it"
done
python3 - "$OUT" "${ENVIRONMENTS[@]}" <<'PY'
import hashlib, os, sys, zipfile

out, envs = sys.argv[1], sys.argv[2:]
files = {
    "detector": [("bootstrap", f"{out}/detector/bootstrap", 0o755)],
    "alert-consumer": [("bootstrap", f"{out}/alert-consumer/bootstrap", 0o755)]
    + [(f"routes/{env}.toml", f"terraform/envs/{env}/routes.toml", 0o644) for env in envs],
    "dlq-redrive": [("bootstrap", f"{out}/dlq-redrive/bootstrap", 0o755)],
}
sums = []
for function, entries in files.items():
    path = f"{out}/{function}/bootstrap.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, source, mode in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(source, "rb") as f:
                z.writestr(info, f.read())
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    sums.append(f"{digest}  {function}/bootstrap.zip")
with open(f"{out}/SHA256SUMS", "w") as f:
    f.write("\n".join(sums) + "\n")
print("\n".join(sums))
PY
echo "package-lambdas: $OUT/SHA256SUMS written"
