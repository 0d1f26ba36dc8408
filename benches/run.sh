#!/usr/bin/env bash
# `make bench`: txtcv against the physical limit, in one run. Builds in release mode, seeds a fresh
# database (txtcv_bench on the project-local PostgreSQL, or on DATABASE_URL's server), starts
# txtcv and nginx, and drives them with wrk. Raw outputs go to $OUT; a summary is printed.
#
# Cores: txtcv and nginx run on core 0, wrk on core 1 (taskset); PostgreSQL is not pinned.
# Knobs (environment): TXTCV_BIN, USERS (500), SESSIONS_PER_USER (20), DURATION (10 s per throughput run),
# E_DURATION (60 s), E_RATE (5000 req/s), LETTERS (2000), D_RATE (enqueue rate, 1000/s),
# PDF_USERS (CVs whose PDF is printed, 20), FLAMEGRAPH (a clone of brendangregg/FlameGraph: after the
# runs, profiles txtcv with perf during A and C and draws benches/flame-{a,c}.svg).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
USERS=${USERS:-500}
SESSIONS_PER_USER=${SESSIONS_PER_USER:-20}
DURATION=${DURATION:-10}
E_DURATION=${E_DURATION:-60}
E_RATE=${E_RATE:-5000}
LETTERS=${LETTERS:-2000}
D_RATE=${D_RATE:-1000}
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
OUT=${OUT:-$HOME/.cache/txtcv-bench/last}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/txtcv-target}
# TXTCV_BIN: a binary to use instead of building one (to try the script quickly).
BIN=${TXTCV_BIN:-$CARGO_TARGET_DIR/release/txtcv}
rm -rf "$OUT" && mkdir -p "$OUT"

wait_for() {
  for _ in $(seq 100); do curl -sf "$1" >/dev/null && return; sleep 0.2; done
  echo "no answer from $1" >&2; exit 1
}
say() { printf '\n== %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- tools ----------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null && ! [ -x /usr/sbin/nginx ]; then
  say "installing wrk and nginx (Debian packages)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk nginx-light >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [ -z "${TXTCV_BIN:-}" ]; then
  say "building txtcv (release)"
  cargo build --release --quiet
fi

# --- database -------------------------------------------------------------------------------------
if [ -z "${DATABASE_URL:-}" ]; then
  # Starts the project-local cluster (.data/) if needed; its socket directory is in postmaster.pid.
  # (Its own `txtcv` database may be behind or ahead of this build; that does not matter here.)
  TXTCV_PROFILE=development RUST_LOG=error "$BIN" migrate 2>/dev/null || true
  SOCKET_DIR=$(sed -n 5p .data/postgres/postmaster.pid)
  ADMIN_URL="postgres://postgres@localhost:5432/postgres?host=$SOCKET_DIR"
  BENCH_URL="postgres://postgres@localhost:5432/txtcv_bench?host=$SOCKET_DIR"
else
  # The database name is the path's last part; a query (?host=<socket directory>) stays.
  DB_BASE=${DATABASE_URL%%\?*}
  DB_QUERY=${DATABASE_URL#"$DB_BASE"}
  ADMIN_URL=${DB_BASE%/*}/postgres$DB_QUERY
  BENCH_URL=${DB_BASE%/*}/txtcv_bench$DB_QUERY
fi
psql -q "$ADMIN_URL" -c 'drop database if exists txtcv_bench with (force)' -c 'create database txtcv_bench'
# BENCH_PREPARE_DB: a command run with the new database's name before txtcv starts on it
# (benches/citus.sh makes it a Citus one).
if [ -n "${BENCH_PREPARE_DB:-}" ]; then $BENCH_PREPARE_DB txtcv_bench; fi

PORT=$(free_port)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "${WWW:-/nonexistent}"
}
trap cleanup EXIT

say "starting txtcv on :$PORT (core $SERVER_CORE)"
export TXTCV_PROFILE=production DATABASE_URL=$BENCH_URL RUST_LOG=${RUST_LOG:-warn}
export TXTCV__SERVER__HOST=127.0.0.1 TXTCV__SERVER__PORT=$PORT TXTCV__SERVER__PUBLIC_SCHEME=http
export TXTCV__LLM__PROVIDER=builtin TXTCV__LLM__BUILTIN_DELAY_MS=0
# Production wants a mail relay. None listens here: the one confirmation mail (the `bench`
# signup's) waits in the queue, and nothing else sends mail.
export TXTCV__MAIL__SMTP_URL=smtp://127.0.0.1:9
export TXTCV__COVER_LETTERS__DAILY_QUOTA=1000000 TXTCV__WORKER__CONCURRENCY=${WORKER_CONCURRENCY:-16}
taskset -c "$SERVER_CORE" "$BIN" serve >"$OUT/txtcv.log" 2>&1 &
TXTCV_PID=$!
PIDS+=("$TXTCV_PID")
wait_for "http://127.0.0.1:$PORT/healthz"

say "seeding $USERS published CVs and $((USERS * SESSIONS_PER_USER)) signed-in pollers"
curl -sf -o /dev/null -X POST "http://localhost:$PORT/signup" \
  --data-urlencode username=bench --data-urlencode email=bench@example.org \
  --data-urlencode 'password=correct horse battery staple'
psql -q "$BENCH_URL" -v users="$USERS" -v sessions_per_user="$SESSIONS_PER_USER" \
  -v sample="$(cat tests/fixtures/sample.resume.json)" -f benches/seed.sql
psql -qAt "$BENCH_URL" -c "select 'user' || n from generate_series(1, $USERS) n" >"$OUT/users.txt"
psql -qAt "$BENCH_URL" -c "select session_id || ' ' || letter_id from bench_pollers order by ord" >"$OUT/pollers.txt"

rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# mark PHASE: txtcv's peak and current memory once PHASE is over, in $OUT/memory.txt.
mark() { echo "$1 $(rss_kb "$TXTCV_PID" VmHWM) $(rss_kb "$TXTCV_PID" VmRSS)" >>"$OUT/memory.txt"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sleep 3
IDLE_RSS=$(rss_kb "$TXTCV_PID" VmRSS)
T0=$(cpu_ticks "$TXTCV_PID"); sleep 5; T1=$(cpu_ticks "$TXTCV_PID")
IDLE_CPU=$(( (T1 - T0) * 100 / $(getconf CLK_TCK) / 5 ))
mark idle

# --- what nginx serves: the same bytes as static files ---------------------------------------------
# A published page, a status partial (a letter still running), a PDF and a preview image, each as
# txtcv sends it to a client that asks for no compression (wrk asks for none).
NGINX_PORT=$(free_port)
# nginx's workers drop root's rights: the files go where they can read them.
WWW=$(mktemp -d /tmp/txtcv-bench-www.XXXXXX)
chmod 755 "$WWW"
mkdir -p "$OUT/nginx"
APP="http://localhost:$PORT"
FIRST_POLLER=$(head -1 "$OUT/pollers.txt")
curl -sf -H 'Host: user1.localhost' "http://127.0.0.1:$PORT/" -o "$WWW/index.html"
curl -sf -b "txtcv_session=${FIRST_POLLER% *}" "$APP/cover-letters/${FIRST_POLLER#* }/status" \
  -o "$WWW/partial.html"

# --- P: PDFs, printed on a first download and kept --------------------------------------------------
# The printer's memory is the proportional set size (shared pages split among their users) of
# every process under txtcv, that is its Chromium, sampled every 100 ms while it prints.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END { for (p in parent) { q = parent[p]; while (q != root && q in parent && q > 1) q = parent[q]; if (q == root) print p } }'
}
# (A process may end between the listing and the reading: it then counts for nothing.)
pss_kb() {
  for pid in "$@"; do cat "/proc/$pid/smaps_rollup" 2>/dev/null || true; done |
    awk '$1 == "Pss:" { kb += $2 } END { print kb + 0 }'
}
sample_printer_memory() {
  local peak=0 now
  while [ -e "$OUT/sampling" ]; do
    mapfile -t pids < <(descendants "$TXTCV_PID")
    now=$(pss_kb "${pids[@]}")
    if [ "$now" -gt "$peak" ]; then peak=$now; echo "$peak" >"$OUT/printer-peak-kb"; fi
    sleep 0.1
  done
}
# p50 and max of a column of seconds, in milliseconds.
ms_p50_max() { sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "p50 %.0f ms, max %.0f ms", t[int((NR + 1) / 2)], t[NR] }'; }
PDF_USERS=${PDF_USERS:-20}
head -n "$PDF_USERS" "$OUT/users.txt" >"$OUT/pdf-users.txt"
say "P: the PDFs of $PDF_USERS CVs, each printed on its first download"
touch "$OUT/sampling"; echo 0 >"$OUT/printer-peak-kb"
sample_printer_memory &
SAMPLER=$!
for user in $(cat "$OUT/pdf-users.txt"); do
  curl -sf -o /dev/null -w '%{time_total}\n' -H "Host: $user.localhost" "http://127.0.0.1:$PORT/resume.pdf"
done >"$OUT/pdf-first.txt"
rm "$OUT/sampling"; wait "$SAMPLER"
mark pdf-first
for user in $(cat "$OUT/pdf-users.txt"); do
  curl -sf -o /dev/null -w '%{time_total}\n' -H "Host: $user.localhost" "http://127.0.0.1:$PORT/resume.pdf"
done >"$OUT/pdf-kept.txt"
curl -sf -H 'Host: user1.localhost' "http://127.0.0.1:$PORT/resume.pdf" -o "$WWW/resume.pdf"
curl -sf -H 'Host: user1.localhost' "http://127.0.0.1:$PORT/og.png" -o "$WWW/og.png"
chmod 644 "$WWW"/*

cat >"$OUT/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { text/html html; application/pdf pdf; image/png png; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WWW;
    location / { index index.html; }
    location /cover-letters/ { default_type text/html; try_files /partial.html =404; }
  }
}
CONF
taskset -c "$SERVER_CORE" "$NGINX" -c "$OUT/nginx/nginx.conf" -p "$OUT/nginx" 2>"$OUT/nginx/stderr.log" &
PIDS+=($!)
wait_for "http://127.0.0.1:$NGINX_PORT/"

# --- the runs -------------------------------------------------------------------------------------
# wrk NAME URL DURATION CONNECTIONS MODE FILE RATE [LIMIT | PATH]
run_wrk() {
  local name=$1 url=$2 duration=$3 connections=$4
  shift 4
  taskset -c "$LOAD_CORE" wrk -t1 -c"$connections" -d"${duration}s" --latency --timeout 5s \
    -s benches/wrk.lua "$url" -- "$@" >"$OUT/$name.txt"
}
# field NAME: requests/s, p50, p99, errors (non-2xx/3xx + socket errors)
summary() {
  awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { for (i = 3; i <= NF; i++) { gsub(",", "", $i); if ($i ~ /^[0-9]+$/) errors += $i } }
    END { printf "%s req/s | p50 %s | p99 %s | errors %d", rps, p50, p99, errors }
  ' "$OUT/$1.txt"
}
rps_of() { awk '/Requests\/sec:/ { printf "%d", $2 }' "$OUT/$1.txt"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# versus NAME MODE FILE [PATH]: txtcv and nginx, one after the other, three times; the ratio of
# each pair, and their median, in $OUT/NAME-ratios.txt.
versus() {
  local name=$1
  shift
  for round in 1 2 3; do
    run_wrk "$name-$round" "$APP" "$DURATION" 64 "$1" "$2" 0 ${3:+"$3"}
    run_wrk "$name-nginx-$round" "http://127.0.0.1:$NGINX_PORT" "$DURATION" 64 "$1" "$2" 0 ${3:+"$3"}
    awk -v a="$(rps_of "$name-$round")" -v b="$(rps_of "$name-nginx-$round")" 'BEGIN { printf "%.2f\n", a / b }'
  done >"$OUT/$name-ratios.txt"
}
median_ratio() { sort -n "$OUT/$1-ratios.txt" | sed -n 2p; }
ratios() { paste -sd' ' "$OUT/$1-ratios.txt"; }
# The middle round's figures, for the table.
round2() { summary "$1-2"; }

# Warm-ups: every page, poller and picture asked for at least once, as in the steady state that
# A, C and P measure (a first poll of a session reads it and its letter from PostgreSQL).
say "warming up"
run_wrk warmup-a "$APP" 3 32 hosts "$OUT/users.txt" 0
run_wrk warmup-c "$APP" 10 32 poll "$OUT/pollers.txt" 0
run_wrk warmup-p "$APP" 3 32 hosts "$OUT/pdf-users.txt" 0 /og.png
LOAD_BEFORE=$(load)
mark warm-up

say "A: public CV pages over $USERS users, against nginx, three times"
versus a hosts "$OUT/users.txt"
mark A
HALF=$(( $(rps_of a-2) / 2 ))
say "A at half its peak ($HALF req/s)"
run_wrk a-half "$APP" "$DURATION" 64 hosts "$OUT/users.txt" "$HALF"

say "C: the status partial, signed in, against nginx, three times"
versus c poll "$OUT/pollers.txt"
mark C

say "P: kept PDFs and preview images over $PDF_USERS users, against nginx, three times each"
versus pdf hosts "$OUT/pdf-users.txt" /resume.pdf
versus png hosts "$OUT/pdf-users.txt" /og.png
mark P

say "D: $LETTERS letters enqueued at $D_RATE/s over HTTP, written by the builtin writer"
D_SECONDS=$(( LETTERS / D_RATE + 3 ))
# wrk takes one request from the script that it never sends; the count below is from the rows.
run_wrk d-enqueue "$APP" "$D_SECONDS" 64 enqueue "$OUT/pollers.txt" "$D_RATE" "$((LETTERS + 1))"
until [ "$(psql -qAt "$BENCH_URL" -c "select count(*) from cover_letters
          where job_title is null and status in ('pending', 'running')")" = 0 ]; do sleep 0.2; done
psql -qAt -F' ' "$BENCH_URL" >"$OUT/d.txt" -c "
  select count(*),
         round(extract(epoch from max(finished_at) - min(created_at))::numeric, 2),
         round(count(*) / extract(epoch from max(finished_at) - min(created_at))::numeric),
         round(1000 * extract(epoch from percentile_cont(0.5) within group (order by finished_at - created_at))::numeric),
         round(1000 * extract(epoch from percentile_cont(0.99) within group (order by finished_at - created_at))::numeric),
         count(*) filter (where status <> 'successful')
  from cover_letters where job_title is null"
read -r D_COUNT D_SECS D_RATE_DONE D_P50 D_P99 D_FAILED <"$OUT/d.txt"
mark D

say "E: $((USERS * SESSIONS_PER_USER)) pollers at $E_RATE req/s for ${E_DURATION}s, after 10 s of the same"
# The pollers have been polling before the measured minute (what was kept since C has expired).
run_wrk warmup-e "$APP" 10 500 poll "$OUT/pollers.txt" "$E_RATE"
T0=$(cpu_ticks "$TXTCV_PID")
run_wrk e "$APP" "$E_DURATION" 500 poll "$OUT/pollers.txt" "$E_RATE"
T1=$(cpu_ticks "$TXTCV_PID")
E_CPU=$(( (T1 - T0) * 100 / $(getconf CLK_TCK) / E_DURATION ))
mark E
LOAD_AFTER=$(load)

# profile NAME MODE FILE: where txtcv's time goes during one more run (perf samples its stacks,
# unwound from DWARF since release builds keep no frame pointers).
profile() {
  local name=$1
  shift
  perf record -q -F 499 --call-graph dwarf,32768 -p "$TXTCV_PID" -o "$OUT/$name.perf" \
    -- sleep "$DURATION" 2>/dev/null &
  run_wrk "$name-profiled" "$APP" "$DURATION" 64 "$@" 0
  wait $!
  perf script -i "$OUT/$name.perf" 2>/dev/null | "$FLAMEGRAPH/stackcollapse-perf.pl" |
    "$FLAMEGRAPH/flamegraph.pl" --title "txtcv: $name ($(rps_of "$name-profiled") req/s)" \
    >"benches/flame-$name.svg"
}
if [ -n "${FLAMEGRAPH:-}" ]; then
  say "profiling A and C (flame graphs in benches/)"
  profile a hosts "$OUT/users.txt"
  profile c poll "$OUT/pollers.txt"
fi

sleep 5
T0=$(cpu_ticks "$TXTCV_PID"); sleep 5; T1=$(cpu_ticks "$TXTCV_PID")
IDLE_CPU_AFTER=$(( (T1 - T0) * 100 / $(getconf CLK_TCK) / 5 ))
PEAK_RSS=$(rss_kb "$TXTCV_PID" VmHWM)
AFTER_RSS=$(rss_kb "$TXTCV_PID" VmRSS)
size() { wc -c <"$WWW/$1"; }

cat <<REPORT | tee "$OUT/summary.md"
Load average (1, 5, 15 min): $LOAD_BEFORE before the runs, $LOAD_AFTER after E.
Ratios are txtcv / nginx for the same bytes, three alternating rounds, median first; the figures
are the middle round's.

| run | result |
|---|---|
| A public page ($(size index.html) B), $USERS users | $(round2 a) |
| A's nginx | $(round2 a-nginx) |
| A / nginx | **$(median_ratio a)** ($(ratios a)) |
| A at half peak ($HALF req/s offered) | $(summary a-half) |
| C status partial ($(size partial.html) B), signed in | $(round2 c) |
| C's nginx | $(round2 c-nginx) |
| C / nginx | **$(median_ratio c)** ($(ratios c)) |
| PDF, first download ($PDF_USERS CVs, one at a time) | $(ms_p50_max <"$OUT/pdf-first.txt"); the first starts Chromium |
| PDF, kept (one at a time) | $(ms_p50_max <"$OUT/pdf-kept.txt") |
| printer's peak memory (Chromium's PSS) | $(( $(cat "$OUT/printer-peak-kb") / 1024 )) MB |
| PDF kept ($(size resume.pdf) B), $PDF_USERS users | $(round2 pdf) |
| PDF / nginx | **$(median_ratio pdf)** ($(ratios pdf)) |
| preview image kept ($(size og.png) B) | $(round2 png) |
| preview image / nginx | **$(median_ratio png)** ($(ratios png)) |
| D enqueue over HTTP | $(summary d-enqueue) |
| D letters | $D_COUNT final ($D_FAILED not successful) in $D_SECS s: $D_RATE_DONE letters/s; enqueue→final p50 $D_P50 ms, p99 $D_P99 ms |
| E $((USERS * SESSIONS_PER_USER)) pollers, $E_RATE req/s offered | $(summary e) |
| E server CPU | ${E_CPU}% of one core |
| RSS | idle ${IDLE_RSS} kB, peak ${PEAK_RSS} kB, after ${AFTER_RSS} kB |
| peak / current RSS after each phase (kB) | $(awk '{ printf "%s%s %s / %s", sep, $1, $2, $3; sep = "; " }' "$OUT/memory.txt") |
| idle CPU | ${IDLE_CPU}% before load, ${IDLE_CPU_AFTER}% after |
REPORT
