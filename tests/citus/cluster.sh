#!/usr/bin/env bash
# A local Citus cluster for txtcv's tests: `make citus` runs this script.
#
#   tests/citus/cluster.sh [start]   build Citus if needed, start a coordinator and two workers,
#                                    register the workers, print the coordinator's URL
#   tests/citus/cluster.sh url       print the coordinator's URL (the cluster must be up)
#   tests/citus/cluster.sh stop      stop the three servers (the build cache stays)
#   tests/citus/cluster.sh build     only build Citus (or find it in the cache)
#   tests/citus/cluster.sh join DB   make the database DB, created on the coordinator, a Citus one:
#                                    the extension on every node, the workers registered in it
#   tests/citus/cluster.sh add-worker DB
#                                    start a third worker (worker3) and register it in DB only,
#                                    for the rebalance benchmark (benches/citus.sh)
#
# The build. Citus (the tag pinned below) is built from its source against Debian's PostgreSQL
# 15 (`postgresql-server-dev-15`), installing the build dependencies Citus documents with apt when
# they are missing (as root, or through `sudo -n`). The source is a `git clone` of the Citus
# repository, or of CITUS_SRC=<dir>, a clone already on disk (for machines without internet): the
# pinned tag is taken from it, whatever it has checked out, and must point at the pinned commit.
# The result is kept in $HOME/.cache/txtcv-citus/<tag>-pg15, so only the first run builds.
#
# Where the extension is installed. PostgreSQL 15 loads extensions only from the pkglibdir and
# sharedir of the server binary it runs, which for Debian's server are system directories. It
# finds them relative to its own binary, though, so this script assembles a private installation
# beside the build: copies of Debian's `postgres`, `pg_ctl` and `initdb` in the same layout as
# /usr, symbolic links to Debian's libraries and shared files, and the Citus files. The clusters
# run those binaries; nothing is installed into the system's directories.
#
# The clusters live in .data/citus/{coordinator,worker1,worker2}, each with its log beside it.
# They listen on no TCP address, only on Unix sockets in a private directory
# /tmp/txtcv-citus-<hash of the data folder> (mode 0700), on ports 9700-9702; the nodes reach each
# other through that directory too. `trust` authentication is therefore safe enough, as in
# src/localdb.rs. Like the test suite's own cluster they trade durability for speed (fsync off):
# they hold nothing worth keeping.
#
# As root, the servers run as the `postgres` OS user (PostgreSQL refuses to run as root). If that
# user cannot reach the build cache or the data folder (say under /root), the private
# installation is assembled in /var/tmp/txtcv-citus-<tag>-pg15 and the data kept in
# /var/tmp/txtcv-citus-<hash>, as src/localdb.rs does.
set -euo pipefail

CITUS_TAG=v13.2.2
CITUS_COMMIT=cc91f4c29cc358f66e70eb1ef204a45999933926
CITUS_REPO=https://github.com/citusdata/citus.git
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_LIB=/usr/lib/postgresql/$PG_MAJOR/lib
PG_SHARE=/usr/share/postgresql/$PG_MAJOR
COORDINATOR_PORT=9700
# worker3 starts only when added (add-worker): `make citus` starts the first three.
ALL_NODES=(coordinator worker1 worker2 worker3)
NODES=("${ALL_NODES[@]:0:3}")
SERVER_USER=postgres

# What Citus's CONTRIBUTING.md lists for Debian, for PostgreSQL 15, less libcurl: Citus uses it
# only to send anonymous statistics to its makers, which a test cluster must not do, so it is
# built --without-libcurl.
BUILD_DEPS=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR autoconf flex git gcc make
  libicu-dev libkrb5-dev liblz4-dev libpam0g-dev libreadline-dev libselinux1-dev libssl-dev
  libxslt1-dev libzstd-dev uuid-dev)

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/txtcv-citus/$CITUS_TAG-pg$PG_MAJOR
STAGE_DIR=$CACHE_DIR/stage
BUILD_LOG=$CACHE_DIR/build.log

log() { printf 'citus: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# FNV-1a, eight hex digits: the same short hash as src/localdb.rs, so names stay stable.
short_hash() {
  local hash=$((0xcbf29ce484222325)) i byte
  local LC_ALL=C text=$1
  for ((i = 0; i < ${#text}; i++)); do
    printf -v byte '%d' "'${text:i:1}"
    hash=$(((hash ^ byte) * 0x100000001b3))
  done
  printf '%08x' $((hash & 0xffffffff))
}

if [ "$(id -u)" = 0 ]; then
  AS_ROOT=1
  SUDO=()
else
  AS_ROOT=
  SUDO=(sudo -n)
fi

# Runs a command as the server user, from a directory it may enter.
as_server() {
  if [ -n "$AS_ROOT" ]; then
    (cd / && runuser -u "$SERVER_USER" -- "$@")
  else
    "$@"
  fi
}

server_can_reach() {
  if [ -n "$AS_ROOT" ]; then
    runuser -u "$SERVER_USER" -- test -x "$1" 2>/dev/null
  else
    true
  fi
}

# A real directory only the server user can enter; refuse one somebody else planted in /tmp.
private_dir() {
  local dir=$1 owner
  mkdir -p -m 0700 "$dir"
  [ -d "$dir" ] && [ ! -L "$dir" ] || die "$dir is not a directory; remove it and try again"
  owner=$(stat -c %u "$dir")
  if [ -n "$AS_ROOT" ]; then
    [ "$owner" = 0 ] || [ "$owner" = "$(id -u "$SERVER_USER")" ] ||
      die "$dir belongs to somebody else; remove it and try again"
    chown "$SERVER_USER:$SERVER_USER" "$dir"
  else
    [ "$owner" = "$(id -u)" ] || die "$dir belongs to somebody else; remove it and try again"
  fi
  chmod 0700 "$dir"
}

install_missing_deps() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [ ${#missing[@]} = 0 ] && return
  log "installing ${missing[*]} with apt-get"
  if [ -z "$AS_ROOT" ] && ! sudo -n true 2>/dev/null; then
    die "not root and passwordless sudo is unavailable: install ${missing[*]} first"
  fi
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2
}

# A clone of the Citus source at the pinned tag in $1, from CITUS_SRC or the Citus repository.
fetch_source() {
  local dest=$1 commit
  rm -rf "$dest"
  if [ -n "${CITUS_SRC:-}" ]; then
    log "using the Citus source in $CITUS_SRC (tag $CITUS_TAG)"
    git -C "$CITUS_SRC" rev-parse --verify -q "refs/tags/$CITUS_TAG^{commit}" >/dev/null ||
      die "$CITUS_SRC has no tag $CITUS_TAG"
    git clone -q --no-checkout "$CITUS_SRC" "$dest"
  else
    log "cloning $CITUS_REPO (tag $CITUS_TAG)"
    git clone -q --no-checkout --depth 1 --branch "$CITUS_TAG" "$CITUS_REPO" "$dest"
  fi
  git -C "$dest" -c advice.detachedHead=false checkout -q "refs/tags/$CITUS_TAG"
  commit=$(git -C "$dest" rev-parse HEAD)
  [ "$commit" = "$CITUS_COMMIT" ] ||
    die "tag $CITUS_TAG is commit $commit here, not the pinned $CITUS_COMMIT"
}

# Fixes the pinned tag needs to build against Debian's PostgreSQL 15.
patch_source() {
  local src=$1 pg_config=$2 header
  # Citus defines its own `static inline have_createdb_privilege()` for PostgreSQL before 16,
  # which did not export it. PostgreSQL 15 releases after the 15.14 that Citus 13.2.2 was tested
  # with declare it in commands/dbcommands.h, and the static definition after that extern one is
  # an error. Renaming Citus's copy (a macro, so its callers follow) keeps its behaviour.
  header="$("$pg_config" --includedir-server)/commands/dbcommands.h"
  if grep -q 'have_createdb_privilege' "$header"; then
    log "patching pg_version_compat.h: $header declares have_createdb_privilege"
    sed -i 's/^#include "pg_version_constants.h"$/&\n#define have_createdb_privilege citus_have_createdb_privilege/' \
      "$src/src/include/pg_version_compat.h"
    grep -q citus_have_createdb_privilege "$src/src/include/pg_version_compat.h" ||
      die "could not patch pg_version_compat.h"
  fi
}

# Builds Citus into $STAGE_DIR (a DESTDIR: the files under their system paths), once.
build() {
  if [ -f "$STAGE_DIR/.done" ]; then
    return
  fi
  install_missing_deps "${BUILD_DEPS[@]}"
  local pg_config=$PG_BIN/pg_config src=$CACHE_DIR/src started=$SECONDS
  [ -x "$pg_config" ] || die "$pg_config is missing (package postgresql-server-dev-$PG_MAJOR)"
  mkdir -p "$CACHE_DIR"
  rm -rf "$STAGE_DIR"
  fetch_source "$src"
  patch_source "$src" "$pg_config"
  log "building Citus $CITUS_TAG against $("$pg_config" --version) (log: $BUILD_LOG)"
  # with_llvm=no: no LLVM bitcode for JIT inlining, which would double the compile time for a
  # test cluster that never needs it.
  if ! (
    cd "$src" &&
      ./configure --without-libcurl PG_CONFIG="$pg_config" &&
      make -j2 with_llvm=no &&
      make install with_llvm=no DESTDIR="$STAGE_DIR"
  ) >"$BUILD_LOG" 2>&1; then
    tail -n 30 "$BUILD_LOG" >&2
    die "building Citus failed; the whole log is $BUILD_LOG"
  fi
  rm -rf "$src"
  echo "$CITUS_TAG $CITUS_COMMIT $("$pg_config" --version)" >"$STAGE_DIR/.done"
  log "built Citus in $((SECONDS - started)) s"
}

# The private installation the servers run: Debian's server with Citus beside it (see the top).
# Rebuilt when Debian's server binary changes, so an upgrade of postgresql-15 is picked up.
assemble_runtime() {
  RUNTIME_DIR=$CACHE_DIR/runtime
  if ! server_can_reach "$CACHE_DIR"; then
    RUNTIME_DIR=/var/tmp/txtcv-citus-$CITUS_TAG-pg$PG_MAJOR
  fi
  RUNTIME_BIN=$RUNTIME_DIR$PG_BIN
  local stamp
  stamp="$(sha256sum "$PG_BIN/postgres" | cut -d' ' -f1) $(cat "$STAGE_DIR/.done" 2>/dev/null)"
  if [ "$(cat "$RUNTIME_DIR/.stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  log "assembling PostgreSQL $PG_MAJOR with Citus in $RUNTIME_DIR"
  rm -rf "$RUNTIME_DIR"
  mkdir -p "$RUNTIME_DIR$PG_BIN" "$RUNTIME_DIR$PG_LIB" "$RUNTIME_DIR$PG_SHARE"
  cp -as "$PG_LIB/." "$RUNTIME_DIR$PG_LIB/"
  cp -as "$PG_SHARE/." "$RUNTIME_DIR$PG_SHARE/"
  # Copies, not links: a server finds its libraries and shared files from its binary's real path.
  cp "$PG_BIN/postgres" "$PG_BIN/pg_ctl" "$PG_BIN/initdb" "$RUNTIME_DIR$PG_BIN/"
  cp -r "$STAGE_DIR$PG_LIB/." "$RUNTIME_DIR$PG_LIB/"
  cp -r "$STAGE_DIR$PG_SHARE/." "$RUNTIME_DIR$PG_SHARE/"
  chmod -R a+rX "$RUNTIME_DIR"
  echo "$stamp" >"$RUNTIME_DIR/.stamp"
}

locate_data() {
  DATA_ROOT=$ROOT_DIR/.data/citus
  mkdir -p "$DATA_ROOT"
  DATA_ROOT=$(cd "$DATA_ROOT" && pwd -P)
  SOCKET_DIR=/tmp/txtcv-citus-$(short_hash "$DATA_ROOT")
  NODE_HOME=$DATA_ROOT
  if ! server_can_reach "$DATA_ROOT"; then
    NODE_HOME=/var/tmp/txtcv-citus-$(short_hash "$DATA_ROOT")
  fi
}

node_port() {
  local i
  for i in "${!ALL_NODES[@]}"; do
    [ "${ALL_NODES[$i]}" = "$1" ] && echo $((COORDINATOR_PORT + i))
  done
}

coordinator_url() {
  echo "postgres://postgres@localhost:$COORDINATOR_PORT/postgres?host=$SOCKET_DIR"
}

psql_node() {
  local node=$1 database=$2
  shift 2
  PGOPTIONS="-c client_min_messages=warning" psql -X -q -t -o /dev/null -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$(node_port "$node")" -U postgres \
    -d "$database" "$@"
}

node_running() {
  as_server "$PG_BIN/pg_ctl" status -D "$NODE_HOME/$1" >/dev/null 2>&1
}

settings() {
  local node=$1
  cat <<EOF
# txtcv: Citus test-cluster settings (tests/citus/cluster.sh)
shared_preload_libraries = 'citus'
listen_addresses = ''
port = $(node_port "$node")
unix_socket_directories = '$SOCKET_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
# Writes to reference tables commit on every node with two-phase commit.
max_prepared_transactions = 300
# Citus runs a maintenance daemon in each database that has the extension, and every test makes a
# database; past this many they go without one (a warning in the log), which tests can bear.
max_worker_processes = 64
shared_buffers = 128MB
# CREATE DATABASE on the coordinator also creates the database on the workers (Citus 12.2+).
citus.enable_create_database_propagation = on
# How a node reaches itself, which it does for commands that cannot run in a transaction, such
# as a propagated CREATE DATABASE (the default, localhost, is a TCP address nobody listens on).
citus.local_hostname = '$SOCKET_DIR'
# Fewer shards than the default 32 per table: the same routing, far less DDL per test database.
citus.shard_count = 4
# Moving a shard while it is written (citus_rebalance_start) goes through logical replication.
wal_level = logical
log_min_messages = warning
EOF
}

init_node() {
  local node=$1 dir=$NODE_HOME/$1
  if [ -f "$dir/.txtcv-ready" ]; then
    return
  fi
  log "initialising $node in $dir"
  rm -rf "$dir"
  private_dir "$dir"
  as_server "$RUNTIME_BIN/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-sync >"$NODE_HOME/$node.initdb.log" 2>&1 ||
    die "initdb of $node failed: see $NODE_HOME/$node.initdb.log"
  echo "include 'txtcv-citus.conf'" | as_server tee -a "$dir/postgresql.conf" >/dev/null
  as_server touch "$dir/.txtcv-ready"
}

# Our settings, in a file of their own rewritten at every start; "changed" when they were not
# what the file had (so a running server must restart to take them).
write_settings() {
  local node=$1 file=$NODE_HOME/$1/txtcv-citus.conf
  if [ "$(settings "$node")" = "$(cat "$file" 2>/dev/null)" ]; then
    return 1
  fi
  settings "$node" | as_server tee "$file" >/dev/null
}

start_node() {
  local node=$1
  touch "$NODE_HOME/$node.log"
  [ -n "$AS_ROOT" ] && chown "$SERVER_USER:$SERVER_USER" "$NODE_HOME/$node.log"
  as_server "$RUNTIME_BIN/pg_ctl" start -D "$NODE_HOME/$node" -l "$NODE_HOME/$node.log" \
    -w -t 60 >/dev/null 9>&- || {
    tail -n 20 "$NODE_HOME/$node.log" >&2
    die "could not start $node"
  }
}

# Citus in the `postgres` database of every node, and the workers registered there. Each
# database created on the coordinator is created on the workers too, but needs the extension and
# the nodes of its own: tests/api/helpers.rs does that for the test databases. (Not through
# template1: Citus's maintenance daemon would stay connected to it, and CREATE DATABASE refuses a
# template in use.)
setup_cluster() {
  local node
  for node in "${NODES[@]}"; do
    psql_node "$node" postgres -c 'create extension if not exists citus'
  done
  psql_node coordinator postgres <<EOF
select citus_set_coordinator_host('$SOCKET_DIR', $COORDINATOR_PORT);
select citus_add_node('$SOCKET_DIR', $(node_port worker1))
  where not exists (select from pg_dist_node where nodeport = $(node_port worker1));
select citus_add_node('$SOCKET_DIR', $(node_port worker2))
  where not exists (select from pg_dist_node where nodeport = $(node_port worker2));
EOF
}

start() {
  build
  assemble_runtime
  locate_data
  private_dir "$DATA_ROOT"
  [ "$NODE_HOME" = "$DATA_ROOT" ] || private_dir "$NODE_HOME"
  private_dir "$SOCKET_DIR"
  exec 9>"$DATA_ROOT/cluster.lock"
  flock 9
  local node started=
  for node in "${NODES[@]}"; do
    init_node "$node"
    if write_settings "$node" && node_running "$node"; then
      log "restarting $node with new settings"
      as_server "$PG_BIN/pg_ctl" stop -D "$NODE_HOME/$node" -m fast >/dev/null
    fi
    if ! node_running "$node"; then
      start_node "$node"
      started=1
    fi
  done
  if [ -n "$started" ] || [ ! -f "$NODE_HOME/.registered" ]; then
    setup_cluster
    touch "$NODE_HOME/.registered"
  fi
  coordinator_url
}

# The shell's twin of join_citus_cluster in tests/api/helpers.rs (which says why each step).
join() {
  local database=$1 node
  locate_data
  for node in "${NODES[@]:1}" coordinator; do
    psql_node "$node" "$database" -c 'create extension if not exists citus'
  done
  psql_node coordinator "$database" <<EOF
select citus_set_coordinator_host('$SOCKET_DIR', $COORDINATOR_PORT);
select citus_add_node('$SOCKET_DIR', $(node_port worker1));
select citus_add_node('$SOCKET_DIR', $(node_port worker2));
EOF
}

# worker3, empty, in DATABASE only (the databases that exist already were not made on it), made
# afresh each time: a node for one benchmark, holding nothing else.
add_worker() {
  local database=$1 node=worker3
  start
  exec 9>"$DATA_ROOT/cluster.lock"
  flock 9
  if node_running "$node"; then
    as_server "$PG_BIN/pg_ctl" stop -D "$NODE_HOME/$node" -m fast >/dev/null
  fi
  rm -rf "${NODE_HOME:?}/$node"
  init_node "$node"
  write_settings "$node" || true
  node_running "$node" || start_node "$node"
  psql_node "$node" postgres -c "create database $database"
  psql_node "$node" "$database" -c 'create extension citus'
  psql_node coordinator "$database" -c "select citus_add_node('$SOCKET_DIR', $(node_port "$node"))"
}

stop() {
  locate_data
  local node
  for node in "${ALL_NODES[@]}"; do
    if node_running "$node"; then
      as_server "$PG_BIN/pg_ctl" stop -D "$NODE_HOME/$node" -m fast >/dev/null
      log "stopped $node"
    fi
  done
}

case "${1:-start}" in
  start) start ;;
  build) build ;;
  url)
    locate_data
    node_running coordinator || die "the Citus cluster is not running; start it with make citus"
    coordinator_url
    ;;
  join) join "${2:?usage: $0 join DATABASE}" ;;
  add-worker) add_worker "${2:?usage: $0 add-worker DATABASE}" >/dev/null ;;
  stop) stop ;;
  *) die "usage: $0 [start|url|stop|build|join DB|add-worker DB]" ;;
esac
