#!/usr/bin/env bash
# `make tools`: builds every upstream component the harness runs (or the ones named) from its Go module into
# ~/.cache/kvcloud/bin/<name>-<version>/. Each component's build.sh is a no-op when its output is complete.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# One build at a time per cache: two `make tools` (two shells, or a test run beside a build) would share the
# scratch copies under work/ and remove each other's. The second waits, then finds the outputs complete.
cache=${KVCLOUD_CACHE:-$HOME/.cache/kvcloud}
mkdir -p "$cache"
exec {lock}>"$cache/build.lock"
flock "$lock"
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kubernetes etcd cluster-api cert-manager kubevirt-crds cdi-crds konnectivity coredns gateway-api-crds csi-spec csi-sanity)
for c in "${components[@]}"; do
  start=$(date +%s)
  bash "$here/$c/build.sh"
  echo "[tools] $c ready in $(( $(date +%s) - start ))s" >&2
done
