// Prints the CustomResourceDefinitions that CDI's cdi-operator installs. build.sh (in a scratch copy) adds the
// kubevirt.io/containerized-data-importer requirement at $CDI_VERSION and the replace directives copied from
// that version's go.mod, so this file stays version-free.
module kvcloud.local/e2e/tools/cdi-crds

go 1.24.0
