#!/usr/bin/env bash
# Builds csi-attacher at EXTERNAL_ATTACHER_VERSION into ~/.cache/kvcloud/bin/csi-attacher-<version>/csi-attacher,
# from the Go module proxy only. No-op when built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../csi-sidecar.sh
source "$here/../csi-sidecar.sh"
build_csi_sidecar csi-attacher github.com/kubernetes-csi/external-attacher/v4 "$EXTERNAL_ATTACHER_VERSION"
