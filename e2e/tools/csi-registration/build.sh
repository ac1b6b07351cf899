#!/usr/bin/env bash
# Copies the kubelet's plugin registration API (pkg/apis/pluginregistration/v1/api.proto of the Go module
# k8s.io/kubelet@$KUBELET_REGISTRATION_API_VERSION) into
# ~/.cache/kvcloud/bin/csi-registration-$KUBELET_REGISTRATION_API_VERSION/api.proto. kvcloud's CSI node plugin
# serves it (as node-driver-registrar does) and the simulated guest's kubelet calls it; neither retypes it.
# Nothing is compiled. A no-op once that is complete.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir csi-registration "$KUBELET_REGISTRATION_API_VERSION")
if is_built "$out"; then
  log "csi-registration $KUBELET_REGISTRATION_API_VERSION: up to date in $out"
  exit 0
fi

require_sumdb_or_off csi-registration
# As for csi-spec: the Dir is reported even when the module's go directive is newer than the toolchain.
dir=$({ go mod download -json "k8s.io/kubelet@$KUBELET_REGISTRATION_API_VERSION" || true; } | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
proto=$dir/pkg/apis/pluginregistration/v1/api.proto
[ -f "$proto" ] || { log "csi-registration: no pluginregistration/v1/api.proto in k8s.io/kubelet@$KUBELET_REGISTRATION_API_VERSION"; exit 1; }

rm -rf "$out"
mkdir -p "$out"
cp "$proto" "$out/api.proto"
chmod 0644 "$out/api.proto"
log "csi-registration $KUBELET_REGISTRATION_API_VERSION: api.proto in $out"
mark_built "$out"
