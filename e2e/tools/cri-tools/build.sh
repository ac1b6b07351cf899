#!/usr/bin/env bash
# Builds crictl at CRI_TOOLS_VERSION into ~/.cache/kvcloud/bin/cri-tools-<version>/crictl, from the Go module proxy
# only: the client the guest kubelet's CRI socket is tested with. No-op when already built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir cri-tools "$CRI_TOOLS_VERSION")
if is_built "$out"; then
  log "cri-tools $CRI_TOOLS_VERSION already built in $out"
  exit 0
fi

phase_timer cri-tools
work=$(work_dir cri-tools)
cd "$work"
pkg=sigs.k8s.io/cri-tools/cmd/crictl
go mod edit -require="sigs.k8s.io/cri-tools@$CRI_TOOLS_VERSION"
require_sumdb_or_off cri-tools
go list -deps -f '{{if .Module}}{{.Module.Path}}{{end}}' "$pkg" >/dev/null
phase "downloading the module graph"
rm -rf "$out"; mkdir -p "$out"
# The version `crictl --version` prints, stamped as upstream's Makefile does.
nice go build -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION" -o "$out/crictl" "$pkg"
phase "go build"
"$out/crictl" --version | grep -qF "$CRI_TOOLS_VERSION"
mark_built "$out"
log "cri-tools $CRI_TOOLS_VERSION built into $out"
