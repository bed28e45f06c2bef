#!/usr/bin/env bash
# Runs `node <args>` with Node.js 24 (installed on demand, see node-env.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
tglens_ensure_node
cd "$TGLENS_ROOT"
exec node "$@"
