// Tools module that builds csi-attacher (github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher), the CSI
// sidecar that turns VolumeAttachments into ControllerPublish/UnpublishVolume calls. build.sh pins the version
// from ../versions.env and upstream's replace directives in a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/csi-attacher

go 1.26.0
