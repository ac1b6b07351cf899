// Tools module that builds crictl (sigs.k8s.io/cri-tools/cmd/crictl), the CRI client the guest's CRI socket is
// proven with. build.sh pins the version from ../versions.env in a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/cri-tools

go 1.26.6

require sigs.k8s.io/cri-tools v1.37.0
