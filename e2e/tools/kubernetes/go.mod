// Tools module that builds kube-apiserver, kube-controller-manager, kube-scheduler and kubeadm from the
// k8s.io/kubernetes Go module (`go install pkg@version` refuses modules with replace directives, hence a module).
// build.sh works on a scratch copy: it pins the require below to KUBERNETES_VERSION from ../versions.env and
// appends the k8s.io/* staging-module replace lines generated from k8s.io/kubernetes's own go.mod, so neither
// a go.sum nor the generated lines are kept here. Bump the version in versions.env (this line follows it).
module kvcloud/e2e/tools/kubernetes

go 1.26.0

require k8s.io/kubernetes v1.37.2
