// Tools module that builds csi-provisioner (github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner),
// the CSI sidecar that turns tenant PVCs into CreateVolume/DeleteVolume calls. build.sh pins the version from
// ../versions.env and upstream's replace directives in a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/csi-provisioner

go 1.26.0
