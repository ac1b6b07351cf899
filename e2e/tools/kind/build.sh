#!/usr/bin/env bash
# Builds the kind CLI at KIND_VERSION from the Go module proxy into ~/.cache/kvcloud/bin/kind-<version>/kind, for
# `make kind-up` (hack/kind-up.sh). Not in `make tools`' default set: nothing here runs kind. A no-op once built.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

out=$(out_dir kind "$KIND_VERSION")
if is_built "$out"; then
  log "kind $KIND_VERSION already built in $out"
  exit 0
fi
phase_timer kind
require_sumdb_or_off kind
rm -rf "$out"; mkdir -p "$out"
# `go install module@version` builds kind's own module with its own go.sum; it takes no -mod flag.
GOFLAGS="-trimpath" GOBIN="$out" nice go install -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
phase "go install"
"$out/kind" version | grep -q "${KIND_VERSION}"
mark_built "$out"
log "kind $KIND_VERSION built into $out"
