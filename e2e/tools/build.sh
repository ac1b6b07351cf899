#!/usr/bin/env bash
# `make tools`: builds every upstream component the harness runs (or the ones named) from its Go module into
# ~/.cache/kvcloud/bin/<name>-<version>/. Each component's build.sh is a no-op when its output is complete.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# One build of a component at a time per cache: two `make tools` (two shells, or a test run beside a build) would
# share its scratch copy under work/<name> and remove each other's. The second waits, then finds the output
# complete. The lock is per component, so a run that needs only built components never waits for another's build.
cache=${KVCLOUD_CACHE:-$HOME/.cache/kvcloud}
mkdir -p "$cache"
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kubernetes etcd cluster-api cert-manager kubevirt-crds cdi-crds konnectivity coredns gateway-api-crds csi-spec csi-sanity csi-provisioner csi-attacher csi-resizer csi-snapshotter cri-tools metallb-crds)
for c in "${components[@]}"; do
  start=$(date +%s)
  exec {lock}>"$cache/build-$c.lock"
  flock "$lock"
  bash "$here/$c/build.sh"
  exec {lock}>&-
  echo "[tools] $c ready in $(( $(date +%s) - start ))s" >&2
done
