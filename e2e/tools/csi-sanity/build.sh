#!/usr/bin/env bash
# Builds csi-sanity at CSI_TEST_VERSION into ~/.cache/kvcloud/bin/csi-sanity-<version>/csi-sanity, from the Go
# module proxy only. No-op when already built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir csi-sanity "$CSI_TEST_VERSION")
if is_built "$out"; then
  log "csi-sanity $CSI_TEST_VERSION already built in $out"
  exit 0
fi

phase_timer csi-sanity
work=$(work_dir csi-sanity)
cd "$work"
pkg=github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity
go mod edit -require="github.com/kubernetes-csi/csi-test/v5@$CSI_TEST_VERSION"
require_sumdb_or_off csi-sanity
go list -deps -f '{{if .Module}}{{.Module.Path}}{{end}}' "$pkg" >/dev/null
phase "downloading the module graph"
rm -rf "$out"; mkdir -p "$out"
# VERSION is what `csi-sanity -version` prints, as upstream's Makefile stamps it.
nice go build -ldflags "-s -w -X main.VERSION=$CSI_TEST_VERSION" -o "$out/csi-sanity" "$pkg"
phase "go build"
"$out/csi-sanity" -version | grep -qF "$CSI_TEST_VERSION"
mark_built "$out"
log "csi-sanity $CSI_TEST_VERSION built into $out"
