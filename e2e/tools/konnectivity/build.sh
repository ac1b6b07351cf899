#!/usr/bin/env bash
# Builds the Konnectivity proxy-server and proxy-agent at KONNECTIVITY_VERSION into
# ~/.cache/kvcloud/bin/konnectivity-<version>/, from the Go module proxy only. No-op when already built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir konnectivity "$KONNECTIVITY_VERSION")
if is_built "$out"; then
  log "konnectivity $KONNECTIVITY_VERSION already built in $out"
  exit 0
fi

start=$(date +%s)
work=$(work_dir konnectivity)
cd "$work"
go mod edit -require="sigs.k8s.io/apiserver-network-proxy@$KONNECTIVITY_VERSION"
pkgs=(sigs.k8s.io/apiserver-network-proxy/cmd/server sigs.k8s.io/apiserver-network-proxy/cmd/agent)
log "konnectivity $KONNECTIVITY_VERSION: downloading the module graph"
go list -deps -f '{{if .Module}}{{.Module.Path}}{{end}}' "${pkgs[@]}" >/dev/null
rm -rf "$out"; mkdir -p "$out"
# Upstream's images name the binaries proxy-server and proxy-agent.
nice go build -ldflags "-s -w" -o "$out/proxy-server" sigs.k8s.io/apiserver-network-proxy/cmd/server
nice go build -ldflags "-s -w" -o "$out/proxy-agent" sigs.k8s.io/apiserver-network-proxy/cmd/agent
"$out/proxy-server" --help >/dev/null
mark_built "$out"
log "konnectivity $KONNECTIVITY_VERSION built into $out in $(( $(date +%s) - start ))s"
