#!/usr/bin/env bash
# The project's one test command. It brings up what the tests need (the local
# lab: three Cassandra nodes and a Kafka broker), runs every test (static
# checks, Rust unit and integration tests, browser tests of the dashboard) and
# leaves nothing running, whatever happens.
#
# Usage: scripts/test-all.sh        (from anywhere in the checkout)
# Keep the lab up afterwards for debugging: KEEP_LAB=1 scripts/test-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO="$ROOT/target/debug/demo"
export DEMO_ROOT="$ROOT"

started_at=$SECONDS
phase_started=$SECONDS
phase() {
  if [ -n "${PHASE:-}" ]; then
    printf '== %s done in %ds\n' "$PHASE" $((SECONDS - phase_started))
  fi
  PHASE=$1
  phase_started=$SECONDS
  printf '\n== %s\n' "$PHASE"
}

cleanup() {
  status=$?
  trap - EXIT INT TERM
  printf '\n== cleanup\n'
  if [ -x "$DEMO" ]; then
    "$DEMO" --lab services down >/dev/null 2>&1 || true
    if [ -z "${KEEP_LAB:-}" ]; then "$DEMO" lab down || status=1; fi
  fi
  printf '== total %ds, exit %d\n' $((SECONDS - started_at)) "$status"
  exit "$status"
}
trap cleanup EXIT INT TERM

phase "static checks (cargo fmt, clippy)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

phase "build (workspace, tests, dashboard dependencies)"
cargo build --workspace --all-targets --quiet
npm --prefix web ci --no-audit --no-fund --loglevel=error

phase "lab up"
"$DEMO" lab up

# A failing suite does not hide the next one: every suite runs, the exit
# status says whether any failed.
failed=""
phase "Rust tests (unit + integration on the lab, serial)"
cargo test --workspace --quiet --no-fail-fast -- --test-threads=1 || failed="$failed rust"

phase "dashboard tests (headless Chromium)"
npm --prefix web test || failed="$failed dashboard"

phase "done"
if [ -n "$failed" ]; then
  echo "FAILED suites:$failed"
  exit 1
fi
