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

# Programs of kvcloud's own in a tools folder (main.go beside its build.sh): source_digest DIR is a digest of the
# folder, and built_from_source OUT DIGEST says whether OUT holds a complete build of exactly that source.
source_digest() { cat "$1"/*.go "$1/go.mod" "$1/build.sh" | sha256sum | cut -d' ' -f1; }
built_from_source() { is_built "$1" && [ "$(cat "$1/source.sha256" 2>/dev/null)" = "$2" ]; }

# work_dir NAME: a scratch copy of a tools module, so builds never write go.sum or generated go.mod lines into
# the repository.
work_dir() {
  local d="$KVCLOUD_CACHE/work/$1"
  rm -rf "$d"; mkdir -p "$d"
  cp -r "$TOOLS_DIR/$1/." "$d/"
  echo "$d"
}

# phase_timer NAME / phase LABEL: logs how long each phase of a build took.
phase_timer() { phase_name=$1; phase_start=$(date +%s); }
phase() { local now; now=$(date +%s); log "$phase_name: $1 took $((now - phase_start))s"; phase_start=$now; }

# Checksums: go verifies modules missing from go.sum against sum.golang.org, which it reaches through the Go
# module proxy (<proxy>/sumdb/sum.golang.org/...) or directly. Where neither answers, it would fail every
# download, so fall back to GOSUMDB=off (the go.sum it writes in the scratch copy still pins what was fetched).
sumdb_reachable() {
  local p proxies
  [ "$(go env GOSUMDB)" = sum.golang.org ] || return 0 # off, or the caller chose another database
  command -v curl >/dev/null || return 0                # can't probe: let go try
  IFS=',|' read -ra proxies <<<"$(go env GOPROXY)"
  for p in "${proxies[@]}"; do
    case $p in
      http://* | https://*) curl -fsS -m 10 -o /dev/null "$p/sumdb/sum.golang.org/supported" 2>/dev/null && return 0 ;;
      direct) curl -fsS -m 10 -o /dev/null https://sum.golang.org/latest 2>/dev/null && return 0 ;;
    esac
  done
  return 1
}
require_sumdb_or_off() {
  if ! sumdb_reachable; then
    log "$1: sum.golang.org is not reachable directly or through GOPROXY; building with GOSUMDB=off"
    export GOSUMDB=off
  fi
}

# build_own_program NAME VERSION MODULE: builds a program of kvcloud's own (main.go in e2e/tools/NAME, on MODULE at
# VERSION) into out_dir NAME VERSION from the Go module proxy, unless that holds a build of exactly this source. The
# program must print "usage: NAME" when run without arguments: the last check that it starts.
build_own_program() (
  local name=$1 version=$2 module=$3 out digest work
  out=$(out_dir "$name" "$version")
  digest=$(source_digest "$TOOLS_DIR/$name")
  if built_from_source "$out" "$digest"; then
    log "$name $version already built in $out"
    exit 0
  fi
  phase_timer "$name"
  work=$(work_dir "$name")
  cd "$work"
  go mod edit -require="$module@$version"
  require_sumdb_or_off "$name"
  go mod tidy >/dev/null
  phase "downloading the module graph"
  rm -rf "$out"; mkdir -p "$out"
  nice go build -ldflags "-s -w" -o "$out/$name" .
  phase "go build"
  { "$out/$name" 2>&1 || true; } | grep -q "usage: $name"
  echo "$digest" >"$out/source.sha256"
  rm -rf "$work"
  mark_built "$out"
  log "$name $version built into $out"
)
