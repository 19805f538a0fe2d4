#!/usr/bin/env bash
# Fetch browser-side packages with npm. Nothing fetched here is committed: build/ and
# bot/web/static/vendor/ are git-ignored.
#   fetch_web_assets.sh          the socket.io client (v4, matching python-socketio 5.x on the Rasa server),
#                                placed where the web app serves it (/static/vendor/socket.io.min.js)
#   fetch_web_assets.sh axe      axe-core for the browser tests' accessibility checks, into build/axe/
#                                (injected by tests/browser; never served by the web app)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHAT="${1:-socketio}"

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch_web_assets: npm 未安装，无法获取 $WHAT（Debian: apt-get install -y npm）" >&2
    exit 1
fi

# npm_install DIR PACKAGE@VERSION: a private package.json in DIR, then the package under DIR/node_modules.
npm_install() {
    mkdir -p "$1"
    if [ ! -f "$1/package.json" ]; then
        printf '{"name": "qhd-%s", "private": true}\n' "$(basename "$1")" > "$1/package.json"
    fi
    npm install --prefix "$1" --no-audit --no-fund --silent "$2"
}

# require FILE: stop with a clear message when npm did not leave FILE behind.
require() {
    if [ ! -f "$1" ]; then
        echo "fetch_web_assets: $1 not found after npm install" >&2
        exit 1
    fi
}

installed_version() {
    node -p "require('$1/package.json').version" 2>/dev/null || echo '?'
}

case "$WHAT" in
socketio)
    BUILD="$ROOT/build/web-assets"
    VENDOR="$ROOT/bot/web/static/vendor"
    npm_install "$BUILD" "socket.io-client@${SOCKET_IO_CLIENT_VERSION:-4}"
    SRC="$BUILD/node_modules/socket.io-client/dist/socket.io.min.js"
    require "$SRC"
    mkdir -p "$VENDOR"
    cp "$SRC" "$VENDOR/socket.io.min.js"
    if [ -f "$SRC.map" ]; then cp "$SRC.map" "$VENDOR/"; fi
    echo "socket.io-client $(installed_version "$BUILD/node_modules/socket.io-client") -> $VENDOR/socket.io.min.js"
    ;;
axe)
    BUILD="$ROOT/build/axe"
    npm_install "$BUILD" "axe-core@${AXE_CORE_VERSION:-4}"
    SRC="$BUILD/node_modules/axe-core/axe.min.js"
    require "$SRC"
    echo "axe-core $(installed_version "$BUILD/node_modules/axe-core") -> $SRC"
    ;;
*)
    echo "fetch_web_assets: unknown asset '$WHAT' (socketio | axe)" >&2
    exit 2
    ;;
esac
