#!/usr/bin/env bash
# The post-deploy smoke test of one environment: invokes each function's alias `live` with
# {"smoke": true}. Each function checks its real dependencies with its own role (detector:
# SSM, Redis, both tables, the alerts queue; alert consumer: routes, secrets, Redis;
# dlq-redrive: both queues) and fails naming what is unreachable or unauthorized. Exits
# non-zero when any function fails. Needs the AWS CLI, terraform and jq, run after apply:
#
#   scripts/smoke.sh terraform/envs/dev
set -euo pipefail

env_dir="${1:?usage: scripts/smoke.sh terraform/envs/<env>}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

functions="$(terraform -chdir="$env_dir" output -json function_names)"
alias_name="$(terraform -chdir="$env_dir" output -raw function_alias)"
failed=0
for key in $(jq -r 'keys[]' <<<"$functions"); do
  name="$(jq -r --arg k "$key" '.[$k]' <<<"$functions")"
  echo "==> smoke: $name:$alias_name"
  aws lambda invoke --function-name "$name" --qualifier "$alias_name" \
    --cli-binary-format raw-in-base64-out --payload '{"smoke": true}' \
    "$work/$key.json" >"$work/$key.meta"
  if jq -e 'has("FunctionError")' "$work/$key.meta" >/dev/null; then
    echo "FAILED: $name: $(jq -r '.errorMessage // .' "$work/$key.json")"
    failed=1
  else
    jq -r '.checks[] | "  ok  \(.name)"' "$work/$key.json"
  fi
done
if ((failed)); then
  echo "smoke test failed: see above; roll back with the command in terraform/README.md (Rollback)" >&2
  exit 1
fi
echo "smoke test passed"
