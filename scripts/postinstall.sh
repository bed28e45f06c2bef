#!/usr/bin/env bash
# After `npm install`: make sure native addons are built for Node 24 (npm may have run under an
# older node), build the web app's bundle (scripts/web-build.ts; TGLENS_SKIP_WEB_BUILD=1 skips it
# where the sources are not there yet, as in the Dockerfile's deps stage), then fetch the embedding
# model so `npm start` answers at once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-env.sh"
cd "$TGLENS_ROOT"
[ "${TGLENS_SKIP_POSTINSTALL:-0}" = "1" ] && exit 0
tglens_ensure_node
if ! node -e 'require("better-sqlite3")(":memory:").close()' 2>/dev/null; then
  echo "tglens: building better-sqlite3 for Node $(node --version)" >&2
  npm rebuild better-sqlite3 --loglevel=error >&2
fi
[ "${TGLENS_SKIP_WEB_BUILD:-0}" = "1" ] || node scripts/web-build.ts
if [ "${TGLENS_SKIP_MODEL_FETCH:-0}" != "1" ]; then
  node scripts/fetch-model.ts
fi
