#!/usr/bin/env bash
# Builds kvcloud's OCI layout checker (main.go here: go-containerregistry at GO_CONTAINERREGISTRY_VERSION reading and
# validating a layout) into ~/.cache/kvcloud/bin/oci-layout-check-<version>/, from the Go module proxy only. Not part
# of `make tools`' default set: packaging/image.test.ts builds it on first use through e2e/tools/build.sh. The output
# records a digest of this folder, so a change to the program rebuilds it.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

name=oci-layout-check
out=$(out_dir "$name" "$GO_CONTAINERREGISTRY_VERSION")
digest=$(source_digest "$here")
if built_from_source "$out" "$digest"; then
  log "$name $GO_CONTAINERREGISTRY_VERSION already built in $out"
  exit 0
fi

phase_timer "$name"
work=$(work_dir "$name")
cd "$work"
go mod edit -require="github.com/google/go-containerregistry@$GO_CONTAINERREGISTRY_VERSION"
require_sumdb_or_off "$name"
go mod tidy >/dev/null
phase "downloading the module graph"
rm -rf "$out"; mkdir -p "$out"
nice go build -ldflags "-s -w" -o "$out/$name" .
phase "go build"
{ "$out/$name" 2>&1 || true; } | grep -q "usage: oci-layout-check"
echo "$digest" >"$out/source.sha256"
rm -rf "$work"
mark_built "$out"
log "$name $GO_CONTAINERREGISTRY_VERSION built into $out"
