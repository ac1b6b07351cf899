#!/usr/bin/env bash
# Builds and runs a small generator against kubevirt.io/containerized-data-importer@$CDI_VERSION and writes every
# CRD that cdi-operator installs (plus the CDI CRD from the operator manifest), with their OpenAPI schemas, to
# ~/.cache/kvcloud/bin/cdi-crds-$CDI_VERSION/crds.yaml. A no-op once that is complete.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# The module-fetching helpers are shared with kubevirt-crds.
# shellcheck source=../kubevirt-crds/upstream.sh
source "$here/../kubevirt-crds/upstream.sh"

out=$(out_dir cdi-crds "$CDI_VERSION")
if is_built "$out"; then
  log "cdi-crds $CDI_VERSION: up to date in $out"
  exit 0
fi

work=$(work_dir cdi-crds)
cd "$work"
use_upstream kubevirt.io/containerized-data-importer "$CDI_VERSION"
log "cdi-crds $CDI_VERSION: downloading modules and compiling"
go_sumdb_tolerant build -o "$work/cdi-crds" .

rm -rf "$out"
mkdir -p "$out"
"$work/cdi-crds" -o "$out/crds.yaml"
cp go.mod "$out/generator.go.mod"
log "cdi-crds $CDI_VERSION: $(grep -c '^kind: CustomResourceDefinition$' "$out/crds.yaml") CRDs in $out/crds.yaml"
mark_built "$out"
