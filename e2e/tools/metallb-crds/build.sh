#!/usr/bin/env bash
# MetalLB's CRDs at METALLB_VERSION, as its Go module (go.universe.tf/metallb) holds them under config/crd/bases, into
# ~/.cache/kvcloud/bin/metallb-crds-<version>/crds.yaml: the CRDs of the pool `make kind-up` applies, installed by
# e2e/suites/foundation/kind-manifests.e2e.ts. Nothing is compiled. A no-op once complete.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir metallb-crds "$METALLB_VERSION")
if is_built "$out"; then
  log "metallb-crds $METALLB_VERSION already in $out"
  exit 0
fi
require_sumdb_or_off metallb-crds
info=$(cd / && go mod download -json "go.universe.tf/metallb@$METALLB_VERSION")
module=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
[ -d "$module/config/crd/bases" ] || { log "metallb-crds: no config/crd/bases in go.universe.tf/metallb@$METALLB_VERSION"; exit 1; }
rm -rf "$out"; mkdir -p "$out"
for crd in "$module"/config/crd/bases/*.yaml; do
  printf -- '---\n'
  cat "$crd"
done >"$out/crds.yaml"
mark_built "$out"
log "metallb-crds $METALLB_VERSION: $(grep -c '^kind: CustomResourceDefinition$' "$out/crds.yaml") CRDs in $out/crds.yaml"
