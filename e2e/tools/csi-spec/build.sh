#!/usr/bin/env bash
# Copies csi.proto out of the CSI spec's Go module (github.com/container-storage-interface/spec@$CSI_SPEC_VERSION,
# the version csi-sanity and the CSI sidecars are built against) into
# ~/.cache/kvcloud/bin/csi-spec-$CSI_SPEC_VERSION/csi.proto, where kvcloud's CSI driver loads it at runtime: the
# protocol is never retyped. Nothing is compiled. A no-op once that is complete.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir csi-spec "$CSI_SPEC_VERSION")
if is_built "$out"; then
  log "csi-spec $CSI_SPEC_VERSION: up to date in $out"
  exit 0
fi

require_sumdb_or_off csi-spec
# As for gateway-api-crds: the Dir is reported even when the module's go directive is newer than the toolchain.
dir=$({ go mod download -json "github.com/container-storage-interface/spec@$CSI_SPEC_VERSION" || true; } | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -f "$dir/csi.proto" ] || { log "csi-spec: no csi.proto in github.com/container-storage-interface/spec@$CSI_SPEC_VERSION"; exit 1; }

rm -rf "$out"
mkdir -p "$out"
cp "$dir/csi.proto" "$out/csi.proto"
chmod 0644 "$out/csi.proto"
log "csi-spec $CSI_SPEC_VERSION: csi.proto in $out"
mark_built "$out"
