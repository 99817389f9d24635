#!/usr/bin/env bash
# Makes sure Postgres, RabbitMQ and Redis answer on 127.0.0.1 and that the service databases
# exist. Uses what already runs; otherwise installs from the distribution (root) and starts it.
# Idempotent; safe to run before every `make test` and `make up`.
set -euo pipefail

PG_URL_ADMIN="${AFTERSALES_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DATABASES=(aftersales_intake aftersales_claims aftersales_procurement aftersales_warehouse
           aftersales_logistics aftersales_fieldservice aftersales_feedback)

say() { printf 'infra: %s\n' "$*"; }
die() { printf 'infra: ERROR: %s\n' "$*" >&2; exit 1; }

# The real executable on PATH, never a shell function or alias of the same name (a function
# `chromium` once made `command -v chromium` succeed with nothing installed).
have() { type -P "$1" >/dev/null 2>&1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port name seconds
  local i
  for ((i = 0; i < $3 * 5; i++)); do port_open "$1" && return 0; sleep 0.2; done
  die "$2 did not open 127.0.0.1:$1 within $3 s"
}

APT_UPDATED=0
apt_install() {
  [ "$(id -u)" = 0 ] || die "need root to install $* (apt-get install -y $*)"
  have apt-get || die "no apt-get here: install $* yourself"
  if [ "$APT_UPDATED" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if ! port_open 5432; then
    if ! compgen -G "/etc/postgresql/*/main" >/dev/null; then
      apt_install postgresql postgresql-client
      local hba
      hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
      # A fresh install asks for passwords on TCP; the dev and test setup trusts loopback only.
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    # Seven service databases (16 connections each under load), the tests' databases and a
    # whole mesh at once outgrow the default 100 connections.
    local confd
    confd="$(ls -d /etc/postgresql/*/main | sort -V | tail -n1)/conf.d"
    if [ -d "$confd" ] && [ ! -f "$confd/aftersales.conf" ]; then
      echo "max_connections = 300" >"$confd/aftersales.conf"
    fi
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
    wait_port 5432 PostgreSQL 60
  fi
  have psql || apt_install postgresql-client
  local i
  for ((i = 0; i < 50; i++)); do psql "$PG_URL_ADMIN" -qAtc 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
  psql "$PG_URL_ADMIN" -qAtc 'SELECT 1' >/dev/null || die "PostgreSQL answers on 5432 but $PG_URL_ADMIN does not accept us"
  for db in "${DATABASES[@]}"; do
    if [ "$(psql "$PG_URL_ADMIN" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
      psql "$PG_URL_ADMIN" -qc "CREATE DATABASE $db" >/dev/null
      say "created database $db"
    fi
  done
  say "PostgreSQL ready"
}

ensure_rabbitmq() {
  if ! port_open 5672; then
    have rabbitmq-server || apt_install rabbitmq-server
    say "starting RabbitMQ (about 15 s)"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    timeout 120 rabbitmqctl await_startup >/dev/null 2>&1 || true
    wait_port 5672 RabbitMQ 120
  fi
  say "RabbitMQ ready"
}

ensure_redis() {
  if ! port_open 6379; then
    have redis-server || apt_install redis-server
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/aftersales.log
    wait_port 6379 Redis 30
  fi
  say "Redis ready"
}

# The gateway's browser tests drive a headless Chromium (Debian's, never a downloaded one).
ensure_chromium() {
  if ! have chromium && ! have chromium-browser; then
    apt_install chromium
  fi
  have chromium || have chromium-browser || die "Chromium is still missing after installing it"
  say "Chromium ready ($( (chromium --version || chromium-browser --version) 2>/dev/null | head -n1))"
}

# Small tools the scripts themselves call.
ensure_tools() {
  local missing=()
  have curl || missing+=(curl)
  if ! have python3; then
    missing+=(python3 python3-venv)
  elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
  fi
  # promtool (Debian ships it in `prometheus`; no server is started) checks and unit-tests the
  # chart's alert rules; node/npm type-check the chart's Grafana dashboard.
  have promtool || missing+=(prometheus)
  have npm || missing+=(nodejs npm)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  say "tools ready (curl, python3-venv, promtool, npm)"
}

ensure_tools
ensure_postgres
ensure_rabbitmq
ensure_redis
ensure_chromium
