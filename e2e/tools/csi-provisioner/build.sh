#!/usr/bin/env bash
# Builds csi-provisioner at EXTERNAL_PROVISIONER_VERSION into
# ~/.cache/kvcloud/bin/csi-provisioner-<version>/csi-provisioner, from the Go module proxy only. No-op when built.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../csi-sidecar.sh
source "$here/../csi-sidecar.sh"
build_csi_sidecar csi-provisioner github.com/kubernetes-csi/external-provisioner/v6 "$EXTERNAL_PROVISIONER_VERSION"
