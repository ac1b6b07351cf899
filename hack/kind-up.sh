#!/usr/bin/env bash
# `make kind-up`: kvcloud's dev loop on kind. Creates the kind cluster (hack/kind-config.yaml), installs what a
# management cluster needs (cert-manager, KubeVirt in emulation mode, CDI, MetalLB with a pool from the kind network,
# Cluster API with kvcloud's providers through clusterctl), then runs `tilt up`, which replaces the providers with
# images built from this tree. Every version comes from e2e/tools/versions.env. Needs Docker, Tilt, Go and the
# internet (the upstream manifests are release assets); re-running it skips what is there and applies the rest again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../e2e/tools/lib.sh
source "$root/e2e/tools/lib.sh"

cluster=${KIND_CLUSTER_NAME:-kvcloud}
context=kind-$cluster
state=$root/out/kind
mkdir -p "$state"

need() {
  command -v "$1" >/dev/null || { echo "kind-up: $1 is not on PATH: $2" >&2; exit 1; }
}
need docker "kind runs the cluster's nodes as Docker containers"
need tilt "install it from https://docs.tilt.dev/install.html"
need go "kind, kubectl and clusterctl are built from the Go module proxy at the pinned versions"

# kind, kubectl and clusterctl at the pinned versions, from the tools cache (a no-op once built).
"$root/e2e/tools/build.sh" kind kubernetes cluster-api
PATH=$(out_dir kind "$KIND_VERSION"):$(out_dir kubernetes "$KUBERNETES_VERSION"):$(out_dir cluster-api "$CLUSTER_API_VERSION"):$PATH
export PATH
kc() { kubectl --context "$context" "$@"; }

# Outputs are taken whole before grep looks at them: with pipefail, grep -q leaving early would fail the writer.
clusters=$(kind get clusters 2>/dev/null)
if grep -qx "$cluster" <<<"$clusters"; then
  log "kind cluster $cluster exists"
else
  kind create cluster --name "$cluster" --config "$root/hack/kind-config.yaml" --image "$KIND_NODE_IMAGE" --wait 5m
fi
kubectl config use-context "$context" >/dev/null

log "cert-manager $CERT_MANAGER_VERSION"
kc apply --server-side -f "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
kc -n cert-manager wait deployment --all --for condition=Available --timeout 5m

log "KubeVirt $KUBEVIRT_VERSION (emulation)"
kc apply --server-side -f "https://github.com/kubevirt/kubevirt/releases/download/$KUBEVIRT_VERSION/kubevirt-operator.yaml"
kc wait crd kubevirts.kubevirt.io --for condition=Established --timeout 2m
kc apply -f "$root/config/kind/kubevirt.yaml"

log "CDI $CDI_VERSION"
kc apply --server-side -f "https://github.com/kubevirt/containerized-data-importer/releases/download/$CDI_VERSION/cdi-operator.yaml"
kc wait crd cdis.cdi.kubevirt.io --for condition=Established --timeout 2m
kc apply -f "$root/config/kind/cdi.yaml"

log "MetalLB $METALLB_VERSION"
kc apply --server-side -f "https://raw.githubusercontent.com/metallb/metallb/$METALLB_VERSION/config/manifests/metallb-native.yaml"
# The pool's objects go through MetalLB's webhook, which answers once its controller runs.
kc -n metallb-system wait deployment controller --for condition=Available --timeout 5m

# 51 addresses near the end of the kind network's IPv4 subnet: Docker hands out container addresses from its start,
# so the nodes never take these.
ip_to_int() { local IFS=.; read -r a b c d <<<"$1"; echo $(((a << 24) | (b << 16) | (c << 8) | d)); }
int_to_ip() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }
subnets=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}')
subnet=$(tr ' ' '\n' <<<"$subnets" | grep '\.' | head -1 || true)
[ -n "$subnet" ] || { echo "kind-up: the kind Docker network has no IPv4 subnet" >&2; exit 1; }
prefix=${subnet#*/}
[ "$prefix" -le 24 ] || { echo "kind-up: the kind network $subnet is too small for a load balancer pool" >&2; exit 1; }
last=$(($(ip_to_int "${subnet%/*}") + (1 << (32 - prefix)) - 1))
addresses="$(int_to_ip $((last - 55)))-$(int_to_ip $((last - 5)))"
log "MetalLB pool $addresses (kind network $subnet)"
sed "s|\${KIND_LB_ADDRESSES}|$addresses|" "$root/config/kind/metallb.yaml" >"$state/metallb.yaml"
for attempt in $(seq 1 30); do
  kc apply -f "$state/metallb.yaml" && break
  [ "$attempt" -lt 30 ] || exit 1
  sleep 5 # the webhook's Service has no ready endpoint yet
done

log "waiting for KubeVirt and CDI"
kc -n kubevirt wait kubevirt kubevirt --for condition=Available --timeout 15m
kc wait cdi cdi --for condition=Available --timeout 10m

# Cluster API's core and kubeadm bootstrap providers from their releases, kvcloud's from the clusterctl repositories
# `make release-manifests` wrote. Their manager images (ghcr.io/kvcloud/*:dev) exist only once Tilt builds them, so
# clusterctl does not wait for the providers: Tilt deploys the same objects with its images and waits for those.
log "Cluster API $CLUSTER_API_VERSION with kvcloud's providers"
components() { # components NAME FILE: the newest release of one provider in out/release
  local found
  found=$(ls -d "$root/out/release/$1"/v*/ 2>/dev/null | sort -V | tail -1)
  [ -n "$found" ] || { echo "kind-up: no out/release/$1: run \`make release-manifests\`" >&2; exit 1; }
  echo "file://$found$2"
}
infrastructure=$(components infrastructure-kubevirt infrastructure-components.yaml)
controlplane=$(components control-plane-kamaji control-plane-components.yaml)
cat >"$state/clusterctl.yaml" <<EOF
providers:
  - name: kubevirt
    type: InfrastructureProvider
    url: $infrastructure
  - name: kamaji
    type: ControlPlaneProvider
    url: $controlplane
EOF
inventory=$(kc get providers.clusterctl.cluster.x-k8s.io -A -o name 2>/dev/null || true)
if [ -n "$inventory" ]; then
  log "Cluster API is installed (clusterctl's provider inventory exists)"
else
  clusterctl init --config "$state/clusterctl.yaml" --kubeconfig-context "$context" \
    --core "cluster-api:$CLUSTER_API_VERSION" --bootstrap "kubeadm:$CLUSTER_API_VERSION" \
    --infrastructure kubevirt --control-plane kamaji
fi

log "tilt up (Ctrl-C stops Tilt; \`make kind-down\` deletes the cluster)"
cd "$root"
exec tilt up
