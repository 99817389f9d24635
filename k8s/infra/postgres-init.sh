#!/bin/bash
# Runs once, when the Postgres data directory is first initialised (docker-entrypoint-initdb.d).
# One database per service, owned by one login role per service, reachable by nobody else.
# Passwords come from the postgres-credentials Secret as <ROLE>_PASSWORD environment variables.
set -euo pipefail

create() {
  local role="$1" password="$2"
  local db="aftersales_${role}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v role="$role" -v db="$db" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
  echo "aftersales: created database $db owned by role $role"
}

create intake "$INTAKE_PASSWORD"
create claims "$CLAIMS_PASSWORD"
create procurement "$PROCUREMENT_PASSWORD"
create warehouse "$WAREHOUSE_PASSWORD"
create logistics "$LOGISTICS_PASSWORD"
create fieldservice "$FIELDSERVICE_PASSWORD"
create feedback "$FEEDBACK_PASSWORD"
