// Prints the CustomResourceDefinitions that KubeVirt's virt-operator installs. build.sh (in a scratch copy)
// adds the kubevirt.io/kubevirt requirement at $KUBEVIRT_VERSION and the replace directives copied from that
// version's go.mod, so this file stays version-free.
module kvcloud.local/e2e/tools/kubevirt-crds

go 1.24.0
