#!/usr/bin/env bash
# `make bench-citus`: benches/run.sh twice in one go, on the project-local PostgreSQL and then on
# the local Citus cluster (tests/citus/cluster.sh: a coordinator and two workers, all on this
# machine), so the cost of distribution at this size is known; then the two summaries side by
# side. While the Citus run's E phase (the pollers, E_DURATION seconds) is under way, a third
# worker joins and citus_rebalance_start() moves shards to it: E's error count is the app serving
# through the move. Raw outputs: $OUT/plain, $OUT/citus, $OUT/rebalance.txt.
#
# The shards go through logical replication (the cluster runs with wal_level = logical), forced
# ('force_logical') because cover_letter_generations has no primary key: it is only ever inserted
# into, which logical replication carries without one.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-$HOME/.cache/txtcv-bench/citus}
rm -rf "$OUT" && mkdir -p "$OUT"
say() { printf '\n=== %s\n' "$*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

CITUS_URL=$(tests/citus/cluster.sh)
URL_BASE=${CITUS_URL%%\?*}
BENCH_URL=${URL_BASE%/*}/txtcv_bench${CITUS_URL#"$URL_BASE"}
LOAD_BEFORE=$(load)

say "plain PostgreSQL"
OUT=$OUT/plain benches/run.sh

say "Citus (coordinator and two workers), a third worker joining during E"
OUT=$OUT/citus DATABASE_URL=$CITUS_URL BENCH_PREPARE_DB="tests/citus/cluster.sh join" \
  benches/run.sh 2> >(tee "$OUT/citus.log" >&2) &
RUN=$!
until grep -q '^== E:' "$OUT/citus.log" 2>/dev/null; do
  kill -0 "$RUN" 2>/dev/null || { wait "$RUN"; exit 1; }
  sleep 0.5
done
# Past E's 10 s warm-up and into the measured run, so the move happens under load rather than at
# its edges.
sleep 15
START=$(date +%s.%N)
tests/citus/cluster.sh add-worker txtcv_bench
psql -qAt "$BENCH_URL" -c "select citus_rebalance_start(shard_transfer_mode => 'force_logical')" \
  >/dev/null
psql -qAt "$BENCH_URL" -c 'select citus_rebalance_wait()' >/dev/null
END=$(date +%s.%N)
{
  awk -v s="$START" -v e="$END" 'BEGIN { printf "rebalance: %.1f s, begun 5 s into E (after its warm-up)\n", e - s }'
  echo 'shards per node after (port: count):'
  psql -qAt -F': ' "$BENCH_URL" -c 'select nodeport, count(*) from citus_shards
                                      group by nodeport order by nodeport'
} | tee "$OUT/rebalance.txt"
wait "$RUN"
LOAD_AFTER=$(load)

# The two summaries' rows side by side (both runs print the same rows in the same order; where a
# row's name holds a figure of its own run, Citus's follows PostgreSQL's).
{
  echo '| run | PostgreSQL | Citus |'
  echo '|---|---|---|'
  rows() { grep '^| ' "$1" | tail -n +3; }
  paste -d '\t' <(rows "$OUT/plain/summary.md") <(rows "$OUT/citus/summary.md") |
    awk -F'\t' '{
      split($1, p, "|"); split($2, c, "|")
      name = p[2] == c[2] ? p[2] : p[2] "/" c[2]
      printf "|%s|%s|%s|\n", name, p[3], c[3]
    }'
  echo
  echo "load average (1, 5, 15 min): $LOAD_BEFORE before, $LOAD_AFTER after"
  cat "$OUT/rebalance.txt"
} | tee "$OUT/summary.md"
