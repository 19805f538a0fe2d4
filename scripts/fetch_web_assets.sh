#!/usr/bin/env bash
# Fetch the browser-side socket.io client (v4, matching python-socketio 5.x on the Rasa server) with npm
# and place its minified build where the web app serves it (/static/vendor/socket.io.min.js).
# Nothing fetched here is committed: build/ and bot/web/static/vendor/ are git-ignored.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/web-assets"
VENDOR="$ROOT/bot/web/static/vendor"
VERSION="${SOCKET_IO_CLIENT_VERSION:-4}"

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch_web_assets: npm 未安装，无法获取 socket.io-client（Debian: apt-get install -y npm）" >&2
    exit 1
fi

mkdir -p "$BUILD" "$VENDOR"
if [ ! -f "$BUILD/package.json" ]; then
    printf '{"name": "qhd-web-assets", "private": true}\n' > "$BUILD/package.json"
fi
npm install --prefix "$BUILD" --no-audit --no-fund --silent "socket.io-client@$VERSION"

SRC="$BUILD/node_modules/socket.io-client/dist/socket.io.min.js"
if [ ! -f "$SRC" ]; then
    echo "fetch_web_assets: $SRC not found after npm install" >&2
    exit 1
fi
cp "$SRC" "$VENDOR/socket.io.min.js"
if [ -f "$SRC.map" ]; then cp "$SRC.map" "$VENDOR/"; fi
INSTALLED="$(node -p "require('$BUILD/node_modules/socket.io-client/package.json').version" 2>/dev/null || echo '?')"
echo "socket.io-client $INSTALLED -> $VENDOR/socket.io.min.js"
