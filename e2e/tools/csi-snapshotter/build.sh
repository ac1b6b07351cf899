#!/usr/bin/env bash
# Builds csi-snapshotter and snapshot-controller at EXTERNAL_SNAPSHOTTER_VERSION into
# ~/.cache/kvcloud/bin/csi-snapshotter-<version>/, with crds.yaml beside them: the snapshot.storage.k8s.io CRDs
# (VolumeSnapshot, VolumeSnapshotContent, VolumeSnapshotClass) of the client/v8 module at the same tag, which both
# clusters serve (the tenant's snapshots, the infra snapshots behind them). From the Go module proxy only. No-op
# when built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../csi-sidecar.sh
source "$here/../csi-sidecar.sh"

client=github.com/kubernetes-csi/external-snapshotter/client/v8

sidecar_extras() {
  local out=$1 dir f
  dir=$(go mod download -json "$client@$EXTERNAL_SNAPSHOTTER_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  # Only the three snapshot kinds: the group snapshot CRDs beside them serve a feature gate left off here.
  for f in "$dir"/config/crd/snapshot.storage.k8s.io_volumesnapshot*.yaml; do
    [ -f "$f" ] || { log "csi-snapshotter: no VolumeSnapshot CRDs in $client@$EXTERNAL_SNAPSHOTTER_VERSION"; return 1; }
    printf -- '---\n' >>"$out/crds.yaml"
    cat "$f" >>"$out/crds.yaml"
  done
  [ "$(grep -c '^kind: CustomResourceDefinition$' "$out/crds.yaml")" = 3 ] || { log "csi-snapshotter: expected 3 CRDs in $out/crds.yaml"; return 1; }
}

build_csi_sidecar csi-snapshotter github.com/kubernetes-csi/external-snapshotter/v8 "$EXTERNAL_SNAPSHOTTER_VERSION" csi-snapshotter snapshot-controller
