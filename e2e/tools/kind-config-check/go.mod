// Tools module of kvcloud's kind config checker: kind's own config loader (strict decoding, defaults, validation)
// run over hack/kind-config.yaml. kind keeps that loader in an internal package; Go lets a package import another's
// internal packages when its import path starts with that package's parent (as golang.org/x/tools/gopls does with
// golang.org/x/tools/internal), so this module's path sits under sigs.k8s.io/kind/pkg. build.sh pins kind from
// ../versions.env in a scratch copy; no go.sum is kept here.
module sigs.k8s.io/kind/pkg/kvcloudconfigcheck

go 1.26.0

require sigs.k8s.io/kind v0.33.0
