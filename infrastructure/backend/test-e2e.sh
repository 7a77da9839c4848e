#!/usr/bin/env bash
# End-to-end check of a running LearnFlow: three questions through triage, each must reach the
# right specialist and be answered within 5 seconds.
#
#   infrastructure/backend/test-e2e.sh                                 port-forwards svc/triage-service 8000:80
#   LEARNFLOW_URL=http://127.0.0.1:8000 infrastructure/backend/test-e2e.sh   tests that URL (e.g. `make run`)
#
# Credentials: LEARNFLOW_TOKEN, an access token sent as `Authorization: Bearer`, e.g. a student's:
#   LEARNFLOW_TOKEN=$(curl -s -X POST "$URL/api/auth/login" -H 'content-type: application/json' \
#     -d '{"username": "e2e-student", "password": "..."}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# (or the identity provider's token in a cluster with AUTH_PROVIDER=oidc). Without it the requests carry no
# credentials, which only a server with LEARNFLOW_AUTH=off accepts; the script says so.
#
# Environment: NAMESPACE (learnflow), LOCAL_PORT (8000), MAX_SECONDS (5). Needs curl and python3.
# Exits 0 when every check passes, 1 when one fails (each failure is printed), 2 when it cannot start.
set -uo pipefail

namespace="${NAMESPACE:-learnflow}"
local_port="${LOCAL_PORT:-8000}"
max_seconds="${MAX_SECONDS:-5}"
url="${LEARNFLOW_URL:-}"
pf_pid=""

[[ "$max_seconds" =~ ^[1-9][0-9]*$ ]] || { echo "test-e2e: MAX_SECONDS must be whole seconds" >&2; exit 2; }
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "test-e2e: $tool not found" >&2; exit 2; }
done

cleanup() { [[ -n "$pf_pid" ]] && kill "$pf_pid" 2>/dev/null; }
trap cleanup EXIT

if [[ -z "$url" ]]; then
  command -v kubectl >/dev/null || { echo "test-e2e: kubectl not found (or set LEARNFLOW_URL)" >&2; exit 2; }
  url="http://127.0.0.1:${local_port}"
  kubectl port-forward -n "$namespace" svc/triage-service "${local_port}:80" >/tmp/learnflow-e2e-port-forward.log 2>&1 &
  pf_pid=$!
fi
url="${url%/}"

# Wait for the service (port-forward start-up, or a server still fitting its models).
for _ in $(seq 1 60); do
  curl -fsS --max-time 2 "$url/health" >/dev/null 2>&1 && break
  if [[ -n "$pf_pid" ]] && ! kill -0 "$pf_pid" 2>/dev/null; then
    echo "test-e2e: kubectl port-forward failed:" >&2; cat /tmp/learnflow-e2e-port-forward.log >&2; exit 2
  fi
  sleep 1
done
if ! curl -fsS --max-time 2 "$url/health" >/dev/null 2>&1; then
  echo "test-e2e: $url/health does not answer" >&2; exit 2
fi
echo "test-e2e: testing $url"

token="${LEARNFLOW_TOKEN:-}"
auth_header=()
student="e2e-student"
if [[ -z "$token" ]]; then
  echo "test-e2e: LEARNFLOW_TOKEN is not set: sending no credentials (only LEARNFLOW_AUTH=off accepts that)." >&2
  echo "test-e2e: sign in with POST $url/api/auth/login and export LEARNFLOW_TOKEN=<access_token>." >&2
else
  auth_header=(-H "Authorization: Bearer ${token}")
  me_status=$(curl -sS --max-time 10 -o /tmp/learnflow-e2e-me.json -w '%{http_code}' "${auth_header[@]}" "$url/api/auth/me" 2>&1)
  if [[ "$me_status" != "200" ]]; then
    echo "test-e2e: LEARNFLOW_TOKEN is not accepted ($me_status from /api/auth/me): expired or for another server?" >&2
    exit 2
  fi
  # The signed-in student asks as themselves: their account id is their student id.
  student=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"] or "e2e-student")' /tmp/learnflow-e2e-me.json)
  echo "test-e2e: signed in as $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["username"], "(" + d["role"] + ")")' /tmp/learnflow-e2e-me.json)"
fi

failures=0
session="e2e-$(date +%s)-$$"

check() {  # check QUESTION EXPECTED_SPECIALIST
  local question="$1" expected="$2" body out status elapsed verdict
  body=$(python3 -c 'import json,sys; print(json.dumps({"student_id": sys.argv[3], "session_id": sys.argv[2], "query": sys.argv[1]}))' "$question" "$session" "$student")
  out=$(curl -sS --max-time $((max_seconds + 5)) -o /tmp/learnflow-e2e-body.json -w '%{http_code} %{time_total}' \
        "${auth_header[@]}" -X POST "$url/api/triage?wait=${max_seconds}" -H 'content-type: application/json' -d "$body" 2>&1)
  status="${out%% *}"; elapsed="${out##* }"
  verdict=$(python3 - "$expected" "$status" "$elapsed" "$max_seconds" /tmp/learnflow-e2e-body.json <<'PY'
import json, sys
expected, status, elapsed, limit, path = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
problems = []
try:
    seconds = float(elapsed)
except ValueError:
    print(f"request failed: {status} {elapsed}")
    raise SystemExit
if status != "200":
    problems.append(f"HTTP {status}: {open(path, encoding='utf-8', errors='replace').read()[:300]}")
else:
    data = json.load(open(path, encoding="utf-8"))
    if data.get("routed_to") != expected:
        problems.append(f"routed to {data.get('routed_to')!r}, expected {expected!r}")
    response = data.get("response") or {}
    if data.get("status") != "answered" or not response:
        problems.append(f"not answered within {limit:g} s (status {data.get('status')!r})")
    elif response.get("agent") != expected:
        problems.append(f"answered by {response.get('agent')!r}, expected {expected!r}")
    elif response.get("kind") != "answer":
        problems.append(f"answer kind {response.get('kind')!r}: {str(response.get('content'))[:200]}")
if seconds > limit:
    problems.append(f"took {seconds:.2f} s, more than {limit:g} s")
print("; ".join(problems) if problems else f"ok ({seconds:.2f} s)")
PY
)
  if [[ "$verdict" == ok* ]]; then
    echo "PASS  \"$question\" -> $expected $verdict"
  else
    echo "FAIL  \"$question\" -> $expected: $verdict"
    failures=$((failures + 1))
  fi
}

check "Explain Python variables" concepts
check "Fix my error: NameError" debug
check "Give me practice exercises" exercise

if ((failures > 0)); then
  echo "test-e2e: $failures of 3 checks failed"
  exit 1
fi
echo "test-e2e: all 3 checks passed"
