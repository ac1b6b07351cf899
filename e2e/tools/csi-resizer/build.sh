#!/usr/bin/env bash
# Builds csi-resizer at EXTERNAL_RESIZER_VERSION into ~/.cache/kvcloud/bin/csi-resizer-<version>/csi-resizer,
# from the Go module proxy only. No-op when built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../csi-sidecar.sh
source "$here/../csi-sidecar.sh"
build_csi_sidecar csi-resizer github.com/kubernetes-csi/external-resizer/v2 "$EXTERNAL_RESIZER_VERSION"
