#!/usr/bin/env bash
# CI leg (issue 13): the whole suite against a 3-broker Apache Kafka cluster used as the
# run's external backend (`kafka-patterns up --cluster 3`: replication factor 3,
# min.insync.replicas 2), then the examples' contracts under broker-failover, which needs
# the cluster backend itself (it kills and restarts the leader).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .ci-work
log=.ci-work/cluster-up.log

.venv/bin/kafka-patterns up --cluster 3 --no-redis > "$log" 2>&1 &
up=$!
trap 'kill -TERM "$up" 2>/dev/null || true; wait "$up" 2>/dev/null || true' EXIT

bootstrap=""
for _ in $(seq 1 180); do
    bootstrap=$(sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' "$log")
    [ -n "$bootstrap" ] && break
    kill -0 "$up" 2>/dev/null || break
    sleep 1
done
if [ -z "$bootstrap" ]; then
    echo "kafka-patterns up --cluster 3 did not come up:"; cat "$log"; exit 1
fi
echo "cluster: $bootstrap"

PYTEST_KAFKA_BACKEND=external PYTEST_KAFKA_BOOTSTRAP_SERVERS="$bootstrap" \
    PYTEST_REDIS_BACKEND=process .venv/bin/python -m pytest -q "$@"

kill -TERM "$up"; wait "$up" || true
trap - EXIT

PYTEST_KAFKA_BACKEND=cluster PYTEST_REDIS_BACKEND=process \
    .venv/bin/python -m pytest --kafka-contracts examples/contracts -k broker-failover -q "$@"
