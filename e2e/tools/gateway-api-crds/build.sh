#!/usr/bin/env bash
# Copies the Gateway API CRDs of the experimental channel (TLSRoute is experimental) out of the module zip of
# sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION into ~/.cache/kvcloud/bin/gateway-api-crds-$GATEWAY_API_VERSION/
# crds.yaml. Nothing is compiled: the module only carries the YAML. A no-op once that is complete.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir gateway-api-crds "$GATEWAY_API_VERSION")
if is_built "$out"; then
  log "gateway-api-crds $GATEWAY_API_VERSION: up to date in $out"
  exit 0
fi

require_sumdb_or_off gateway-api-crds
# `go mod download` also checks the module's go directive against the local toolchain and reports an Error in
# its JSON when that is newer, although the zip is extracted all the same; so look for the directory, not rc.
dir=$({ go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" || true; } | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
crds="$dir/config/crd/experimental"
[ -d "$crds" ] || { log "gateway-api-crds: no $crds in the module sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"; exit 1; }

rm -rf "$out"
mkdir -p "$out"
for f in "$crds"/gateway.networking.k8s.io_*.yaml; do
  # The safe-upgrades ValidatingAdmissionPolicy is not a CRD; the harness applies CRDs only.
  grep -q '^kind: CustomResourceDefinition$' "$f" || continue
  printf -- '---\n' >>"$out/crds.yaml"
  cat "$f" >>"$out/crds.yaml"
done
log "gateway-api-crds $GATEWAY_API_VERSION: $(grep -c '^kind: CustomResourceDefinition$' "$out/crds.yaml") CRDs in $out/crds.yaml"
mark_built "$out"
