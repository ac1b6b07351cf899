// Tools module that builds csi-sanity (github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity), the CSI conformance
// tests kvcloud's CSI driver runs against. build.sh pins the version from ../versions.env in a scratch copy; no
// go.sum is kept here.
module kvcloud/e2e/tools/csi-sanity

go 1.26.0

require github.com/kubernetes-csi/csi-test/v5 v5.6.0
