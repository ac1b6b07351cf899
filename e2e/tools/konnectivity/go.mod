// Tools module that builds the Konnectivity server and agent (sigs.k8s.io/apiserver-network-proxy) for hosted
// control planes: the tenant apiserver reaches its nodes through them. build.sh pins the version from
// ../versions.env in a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/konnectivity

go 1.26.0

require sigs.k8s.io/apiserver-network-proxy v0.36.0
