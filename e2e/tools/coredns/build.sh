#!/usr/bin/env bash
# Builds CoreDNS at COREDNS_VERSION into ~/.cache/kvcloud/bin/coredns-<version>/coredns, from the Go module proxy
# only. No-op when already built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir coredns "$COREDNS_VERSION")
if is_built "$out"; then
  log "coredns $COREDNS_VERSION already built in $out"
  exit 0
fi

start=$(date +%s)
work=$(work_dir coredns)
cd "$work"
go mod edit -require="github.com/coredns/coredns@$COREDNS_VERSION"
require_sumdb_or_off coredns
log "coredns $COREDNS_VERSION: downloading the module graph"
go list -deps -f '{{if .Module}}{{.Module.Path}}{{end}}' github.com/coredns/coredns >/dev/null
rm -rf "$out"; mkdir -p "$out"
# The module's root package is the coredns command, with the plugins of upstream's plugin.cfg compiled in.
nice go build -ldflags "-s -w" -o "$out/coredns" github.com/coredns/coredns
"$out/coredns" -version >/dev/null
mark_built "$out"
log "coredns $COREDNS_VERSION built into $out in $(( $(date +%s) - start ))s"
