#!/usr/bin/env bash
# Builds and runs a small generator against kubevirt.io/kubevirt@$KUBEVIRT_VERSION and writes every CRD that
# virt-operator installs (plus the KubeVirt CRD from the operator manifest), with their OpenAPI schemas, to
# ~/.cache/kvcloud/bin/kubevirt-crds-$KUBEVIRT_VERSION/crds.yaml. A no-op once that is complete.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=upstream.sh
source "$here/upstream.sh"

out=$(out_dir kubevirt-crds "$KUBEVIRT_VERSION")
if is_built "$out"; then
  log "kubevirt-crds $KUBEVIRT_VERSION: up to date in $out"
  exit 0
fi

work=$(work_dir kubevirt-crds)
cd "$work"
use_upstream kubevirt.io/kubevirt "$KUBEVIRT_VERSION"
log "kubevirt-crds $KUBEVIRT_VERSION: downloading modules and compiling"
go_sumdb_tolerant build -o "$work/kubevirt-crds" .

rm -rf "$out"
mkdir -p "$out"
"$work/kubevirt-crds" -version "$KUBEVIRT_VERSION" -o "$out/crds.yaml"
cp go.mod "$out/generator.go.mod"
log "kubevirt-crds $KUBEVIRT_VERSION: $(grep -c '^kind: CustomResourceDefinition$' "$out/crds.yaml") CRDs in $out/crds.yaml"
mark_built "$out"
