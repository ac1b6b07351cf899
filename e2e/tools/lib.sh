# Sourced by e2e/tools/*/build.sh: where the cache lives and how Go is run, so every tools module builds the
# same way and a cold cache is one `rm -rf ~/.cache/kvcloud`.
set -euo pipefail
TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$TOOLS_DIR/versions.env"
KVCLOUD_CACHE=${KVCLOUD_CACHE:-$HOME/.cache/kvcloud}
export GOMODCACHE=$KVCLOUD_CACHE/go/mod
export GOCACHE=$KVCLOUD_CACHE/go/build
export GOFLAGS="-mod=mod -buildvcs=false -trimpath"
export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GONOSUMDB= GOPRIVATE=

log() { echo "[tools] $*" >&2; }

# out_dir NAME VERSION -> the versioned output directory of one component.
out_dir() { echo "$KVCLOUD_CACHE/bin/$1-$2"; }

# is_built DIR: a build finished into DIR (the marker is written last, so an interrupted build is redone).
is_built() { [ -f "$1/.complete" ]; }
mark_built() { date -u +%FT%TZ >"$1/.complete"; }

# work_dir NAME: a scratch copy of a tools module, so builds never write go.sum or generated go.mod lines into
# the repository.
work_dir() {
  local d="$KVCLOUD_CACHE/work/$1"
  rm -rf "$d"; mkdir -p "$d"
  cp -r "$TOOLS_DIR/$1/." "$d/"
  echo "$d"
}
