// Tools module that builds csi-resizer (github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer), the CSI
// sidecar that turns a grown PersistentVolumeClaim request into ControllerExpandVolume calls. build.sh pins the
// version from ../versions.env and upstream's replace directives in a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/csi-resizer

go 1.26.0
