#!/usr/bin/env bash
# The local stack: redis-server and the AWS emulator (moto_server) on free loopback ports,
# with the pulse tables (streams on), the alerts queue and its dead-letter queue.
#
#   scripts/local-stack.sh up     start everything, write .local-stack/env
#   scripts/local-stack.sh env    print the environment (source it: . .local-stack/env)
#   scripts/local-stack.sh down   stop what `up` started
#
# Only the processes this script started (their pids are in .local-stack/) are stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.local-stack
envfile="$dir/env"

say() { printf '==> %s\n' "$*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
  local port=$1 name=$2 i
  for i in $(seq 1 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      return 0
    fi
    [ "$i" -eq 300 ] || sleep 0.1
  done
  say "$name did not listen on port $port"
  return 1
}

running() {
  local pidfile=$1
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

up() {
  mkdir -p "$dir"
  if running "$dir/redis.pid" || running "$dir/moto.pid"; then
    say "already up (scripts/local-stack.sh down first)"
    cat "$envfile"
    return 0
  fi
  command -v redis-server >/dev/null 2>&1 || {
    say "redis-server is missing: apt-get install -y redis-server"
    return 1
  }
  if ! command -v moto_server >/dev/null 2>&1; then
    say "installing moto[server] (pip)"
    python3 -m pip install -q 'moto[server]>=5.0,<6'
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
  fi
  local redis_port moto_port
  redis_port=$(free_port)
  moto_port=$(free_port)
  say "redis-server on 127.0.0.1:$redis_port"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --protected-mode no >"$dir/redis.log" 2>&1 &
  echo $! >"$dir/redis.pid"
  say "moto_server on 127.0.0.1:$moto_port"
  moto_server -H 127.0.0.1 -p "$moto_port" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"
  wait_port "$redis_port" redis-server
  wait_port "$moto_port" moto_server

  local endpoint="http://127.0.0.1:$moto_port"
  say "creating tables events and coins (streams on), queues alerts and alerts-dlq"
  local urls
  urls=$(AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_DEFAULT_REGION=us-east-1 python3 - <<'PY'
import json
import boto3

ddb = boto3.client("dynamodb")
for name in ("events", "coins"):
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "N"},
            {"AttributeName": "timeBucket", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[{
            "IndexName": "byTimeBucket",
            "KeySchema": [
                {"AttributeName": "timeBucket", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
sqs = boto3.client("sqs")
dlq = sqs.create_queue(QueueName="alerts-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
queue = sqs.create_queue(QueueName="alerts", Attributes={
    "VisibilityTimeout": "300",
    "MessageRetentionPeriod": "1209600",
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
})["QueueUrl"]
print(queue, dlq)
PY
)
  local queue_url dlq_url
  read -r queue_url dlq_url <<<"$urls"
  cat >"$envfile" <<ENV
# written by scripts/local-stack.sh up; source it: . $envfile
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export PULSE_EVENTS_TABLE=events
export PULSE_COINS_TABLE=coins
export PULSE_ALERTS_QUEUE_URL=$queue_url
export PULSE_DEAD_LETTER_QUEUE_URL=$dlq_url
export PULSE_REDIS_URL=redis://127.0.0.1:$redis_port/
export PULSE_METRICS_MODE=api
export PULSE_SCAN_SEGMENTS=2
export PULSE_INITIAL_LOOKBACK_SECS=86400
export PULSE_ROUTES_FILE=$PWD/functions/alert-consumer/routes.local.toml
export PULSE_LOCAL_REDIS_PORT=$redis_port
export PULSE_LOCAL_MOTO_PORT=$moto_port
ENV
  # The same variables without `export`, for `cargo lambda watch --env-file`.
  sed -n 's/^export //p' "$envfile" >"$dir/lambda.env"
  say "up; environment in $envfile (and $dir/lambda.env for cargo lambda)"
  cat "$envfile"
}

stop_pid() {
  local pidfile=$1 pid
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  fi
}

down() {
  stop_pid "$dir/redis.pid"
  stop_pid "$dir/moto.pid"
  rm -f "$envfile" "$dir/lambda.env"
  say "down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env)
    if [ -f "$envfile" ]; then cat "$envfile"; else say "not up: scripts/local-stack.sh up"; exit 1; fi
    ;;
  *)
    echo "usage: $0 up|down|env" >&2
    exit 2
    ;;
esac
