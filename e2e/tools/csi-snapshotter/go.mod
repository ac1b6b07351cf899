// Tools module that builds csi-snapshotter and snapshot-controller (github.com/kubernetes-csi/external-snapshotter/v8),
// the CSI sidecar that turns VolumeSnapshotContents into CreateSnapshot/DeleteSnapshot calls and the controller that
// binds VolumeSnapshots to them. build.sh pins the version from ../versions.env and upstream's replace directives in
// a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/csi-snapshotter

go 1.26.0
