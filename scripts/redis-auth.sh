#!/usr/bin/env bash
# Sets the AUTH token of an ElastiCache replication group from its SSM SecureString, so the
# token never passes through Terraform (plan and state hold only the parameter's name).
# Run by terraform/modules/elasticache (terraform_data.auth_token) right after the group is
# created, and by hand to rotate (terraform/README.md, Secrets).
#
#   REPLICATION_GROUP_ID=pulse-prod-redis AUTH_PARAMETER=/pulse/prod/redis-auth scripts/redis-auth.sh
#
# A group without AUTH gets it in two steps, as ElastiCache requires: ROTATE (the token is
# accepted, connections without it still are), then SET (only the token is accepted). On a
# group that already has a token the same two steps rotate it. Needs the AWS CLI.
set -euo pipefail

: "${REPLICATION_GROUP_ID:?set REPLICATION_GROUP_ID (the replication group id, e.g. pulse-prod-redis)}"
: "${AUTH_PARAMETER:?set AUTH_PARAMETER (the SSM SecureString holding the token, e.g. /pulse/prod/redis-auth)}"
command -v aws >/dev/null 2>&1 || {
  echo "redis-auth: the AWS CLI is not on PATH" >&2
  exit 1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
umask 077

# The token goes to the CLI in a file, not on its command line (where ps would show it).
token="$(aws ssm get-parameter --name "$AUTH_PARAMETER" --with-decryption \
  --query Parameter.Value --output text)"
if ((${#token} < 16 || ${#token} > 128)); then
  echo "redis-auth: $AUTH_PARAMETER must hold 16..128 characters (it holds ${#token})" >&2
  exit 1
fi

for strategy in ROTATE SET; do
  PULSE_REDIS_TOKEN="$token" python3 - "$work/input.json" "$REPLICATION_GROUP_ID" "$strategy" <<'PY'
import json, os, sys
path, group, strategy = sys.argv[1:4]
token = os.environ["PULSE_REDIS_TOKEN"]
with open(path, "w") as f:
    json.dump({"ReplicationGroupId": group, "AuthToken": token,
               "AuthTokenUpdateStrategy": strategy, "ApplyImmediately": True}, f)
PY
  echo "redis-auth: $REPLICATION_GROUP_ID: $strategy"
  aws elasticache modify-replication-group --cli-input-json "file://$work/input.json" >/dev/null
  aws elasticache wait replication-group-available --replication-group-id "$REPLICATION_GROUP_ID"
done
echo "redis-auth: $REPLICATION_GROUP_ID now requires the token in $AUTH_PARAMETER"
