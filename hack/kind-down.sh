#!/usr/bin/env bash
# `make kind-down`: deletes the kind cluster of `make kind-up` and what kind-up wrote under out/kind. Stop `tilt up`
# first (Ctrl-C); its images stay in the local Docker engine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../e2e/tools/lib.sh
source "$root/e2e/tools/lib.sh"

cluster=${KIND_CLUSTER_NAME:-kvcloud}
kind=$(out_dir kind "$KIND_VERSION")/kind
[ -x "$kind" ] || kind=$(command -v kind) || { echo "kind-down: no kind built by kind-up and none on PATH" >&2; exit 1; }
"$kind" delete cluster --name "$cluster"
rm -rf "$root/out/kind"
