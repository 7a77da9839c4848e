#!/usr/bin/env bash
# Create LearnFlow's nine topics and their dead-letter topics.
#
#   ./create-topics.sh            apply topics.yaml (Strimzi Topic Operator) and wait until all are Ready
#   ./create-topics.sh --direct   without the Topic Operator: run `learnflow kafka create-topics` in a
#                                 one-off pod of the LearnFlow image, straight against the brokers
#
# Environment: KAFKA_NAMESPACE (kafka), APP_NAMESPACE (learnflow), IMAGE (learnflow:0.1.0),
# KAFKA_BOOTSTRAP_SERVERS (learnflow-kafka-kafka-bootstrap.kafka.svc.cluster.local:9092), TIMEOUT (300s).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kafka_ns="${KAFKA_NAMESPACE:-kafka}"
app_ns="${APP_NAMESPACE:-learnflow}"
image="${IMAGE:-learnflow:0.1.0}"
bootstrap="${KAFKA_BOOTSTRAP_SERVERS:-learnflow-kafka-kafka-bootstrap.kafka.svc.cluster.local:9092}"
timeout="${TIMEOUT:-300s}"

command -v kubectl >/dev/null || { echo "create-topics: kubectl not found" >&2; exit 2; }

if [[ "${1:-}" == "--direct" ]]; then
  # The label lets the pod through the namespace's default-deny policy (network-policies.yaml).
  exec kubectl run learnflow-create-topics -n "$app_ns" --rm -i --restart=Never \
    --image="$image" --image-pull-policy=IfNotPresent \
    --labels=app.kubernetes.io/component=kafka-admin \
    --env="KAFKA_BOOTSTRAP_SERVERS=$bootstrap" \
    -- learnflow kafka create-topics
fi

kubectl apply -n "$kafka_ns" -f "$here/topics.yaml"
topics=$(grep -E '^  name: ' "$here/topics.yaml" | awk '{print $2}')
for topic in $topics; do
  if ! kubectl wait -n "$kafka_ns" --for=condition=Ready "kafkatopic/$topic" --timeout="$timeout"; then
    echo "create-topics: $topic is not Ready; see: kubectl describe kafkatopic/$topic -n $kafka_ns" >&2
    exit 1
  fi
done
echo "create-topics: $(wc -w <<<"$topics") topics ready"
