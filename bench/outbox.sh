#!/usr/bin/env bash
# Outbox dispatch benchmark (not a test): 100,000 due reminders on PostgreSQL dispatched to a loopback Brevo
# server, printed beside pgbench's single-row-update TPS measured on the same database in the same run, and the
# ratio. The ratio, not the absolute number, is what compares across machines. Results: docs/BENCHMARKS.md.
#
#   bash bench/outbox.sh            # BENCH_MESSAGES, BENCH_DISPATCHERS, BENCH_BATCH, PGBENCH_SECONDS to tune
#
# PostgreSQL is found at BENCH_ADMIN_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test;
# a database `passerelle_bench` is created next to it and dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL=${BENCH_ADMIN_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}}
BENCH_DB=passerelle_bench
URL="${ADMIN_URL%/*}/${BENCH_DB}"
DISPATCHERS=${BENCH_DISPATCHERS:-2}
export BENCH_MESSAGES=${BENCH_MESSAGES:-100000} BENCH_DISPATCHERS=$DISPATCHERS BENCH_BATCH=${BENCH_BATCH:-500}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}

if ! command -v pgbench >/dev/null || ! command -v psql >/dev/null; then
    echo "installing pgbench and psql (Debian postgresql-client)" >&2
    apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null
fi

echo "building the benchmark (release)…" >&2
cargo build --release -q -p messaging --example bench_dispatch
TARGET_DIR=${CARGO_TARGET_DIR:-target}

psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)" -c "CREATE DATABASE ${BENCH_DB}"
trap 'psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

# Floor: the same number of connections as dispatchers, each updating one random row per transaction.
pgbench -q -i -s 10 "$URL" >/dev/null 2>&1
SCRIPT=$(mktemp)
cat >"$SCRIPT" <<'SQL'
\set aid random(1, 100000 * :scale)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SQL
TPS=$(pgbench -n -c "$DISPATCHERS" -j "$DISPATCHERS" -T "$PGBENCH_SECONDS" -f "$SCRIPT" "$URL" 2>/dev/null \
    | awk '/^tps = / { print $3; exit }')
rm -f "$SCRIPT"

OUT=$(DATABASE_URL="$URL" "$TARGET_DIR/release/examples/bench_dispatch")
echo "$OUT"
MPS=$(echo "$OUT" | awk -F= '/^MESSAGES_PER_SEC=/ { print $2 }')

echo "pgbench single-row-update TPS (${DISPATCHERS} clients, ${PGBENCH_SECONDS} s): ${TPS}"
echo "outbox messages/s (${DISPATCHERS} dispatchers, ${BENCH_MESSAGES} messages): ${MPS}"
awk -v m="$MPS" -v t="$TPS" 'BEGIN { printf "ratio messages/s ÷ pgbench TPS: %.2f\n", m / t }'
