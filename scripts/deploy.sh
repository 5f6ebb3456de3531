#!/usr/bin/env bash
# The manual's entry point: ./scripts/deploy.sh production | rollback | health-check | ...
# A thin shell over `python -m runbook`; `./scripts/deploy.sh --help` lists every command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$root/.venv/bin/python" ]; then
  echo "error: $root/.venv is missing: run 'make setup' in $root first" >&2
  exit 2
fi
# Node 24 and the pinned cdk CLI (for the deploy verbs) come from the venv.
export PATH="$root/.venv/bin:$PATH"
cd "$root"
exec "$root/.venv/bin/python" -m runbook "$@"
