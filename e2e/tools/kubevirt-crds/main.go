// Command kubevirt-crds prints, as YAML documents separated by "---", every CustomResourceDefinition that
// KubeVirt installs: the KubeVirt CRD (shipped in the virt-operator manifest, built by the same
// components.NewKubeVirtCrd that upstream's resource-generator uses) plus every CRD in the install strategy
// virt-operator computes at runtime (install.GenerateCurrentInstallStrategy), whose OpenAPI schemas come from
// upstream's generated components.CRDsValidation. Output is sorted by CRD name.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	virtv1 "kubevirt.io/api/core/v1"
	kvlog "kubevirt.io/client-go/log"

	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/install"
	operatorutil "kubevirt.io/kubevirt/pkg/virt-operator/util"
)

// envVars stands in for virt-operator's environment (the operator reads its own image and version from it).
type envVars map[string]string

func (e envVars) Getenv(k string) string { return e[k] }
func (e envVars) Setenv(k, v string) error {
	e[k] = v
	return nil
}
func (e envVars) Unsetenv(k string) error {
	delete(e, k)
	return nil
}
func (e envVars) Environ() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func main() {
	version := flag.String("version", "devel", "KubeVirt version, used only for the operator image tag the install strategy is computed for")
	namespace := flag.String("namespace", "kubevirt", "namespace of the KubeVirt CR")
	featureGates := flag.String("feature-gates", "", "comma-separated feature gates in the KubeVirt CR (e.g. Template adds the virt-template CRDs)")
	out := flag.String("o", "-", "output file, - for stdout")
	flag.Parse()

	crds, err := generate(*version, *namespace, *featureGates)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubevirt-crds:", err)
		os.Exit(1)
	}
	if err := write(*out, crds); err != nil {
		fmt.Fprintln(os.Stderr, "kubevirt-crds:", err)
		os.Exit(1)
	}
}

func generate(version, namespace, featureGates string) ([]*extv1.CustomResourceDefinition, error) {
	kv := &virtv1.KubeVirt{
		ObjectMeta: metav1.ObjectMeta{Name: "kubevirt", Namespace: namespace},
	}
	if featureGates != "" {
		kv.Spec.Configuration.DeveloperConfiguration = &virtv1.DeveloperConfiguration{
			FeatureGates: strings.Split(featureGates, ","),
		}
	}
	env := envVars{
		operatorutil.VirtOperatorImageEnvName: "quay.io/kubevirt/virt-operator:" + version,
		operatorutil.KubeVirtVersionEnvName:   version,
	}
	// virt-operator's logger reports on the deployments it would create (no monitoring namespace, unset
	// optional ports); none of that concerns the CRDs, and real failures come back as errors.
	kvlog.Log.SetIOWriter(io.Discard)
	config := operatorutil.GetTargetConfigFromKVWithEnvVarManager(kv, env)
	// No monitoring namespace: ServiceMonitor/PrometheusRule objects are skipped (they are not CRDs).
	strategy, err := install.GenerateCurrentInstallStrategy(config, "", namespace)
	if err != nil {
		return nil, fmt.Errorf("generating install strategy: %w", err)
	}
	kvCRD, err := components.NewKubeVirtCrd()
	if err != nil {
		return nil, fmt.Errorf("generating KubeVirt CRD: %w", err)
	}

	crds := append([]*extv1.CustomResourceDefinition{kvCRD}, strategy.CRDs()...)
	seen := map[string]bool{}
	for _, crd := range crds {
		if err := check(crd); err != nil {
			return nil, err
		}
		if seen[crd.Name] {
			return nil, fmt.Errorf("CRD %s generated twice", crd.Name)
		}
		seen[crd.Name] = true
	}
	sort.Slice(crds, func(i, j int) bool { return crds[i].Name < crds[j].Name })
	return crds, nil
}

// check fails on a CRD that would not be a complete apiextensions.k8s.io/v1 object with a schema per version.
func check(crd *extv1.CustomResourceDefinition) error {
	if crd.Name == "" || len(crd.Spec.Versions) == 0 {
		return fmt.Errorf("empty CRD generated: %+v", crd.ObjectMeta)
	}
	for _, v := range crd.Spec.Versions {
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("CRD %s version %s has no openAPIV3Schema", crd.Name, v.Name)
		}
	}
	return nil
}

func write(path string, crds []*extv1.CustomResourceDefinition) error {
	var buf bytes.Buffer
	for _, crd := range crds {
		doc, err := marshal(crd)
		if err != nil {
			return fmt.Errorf("marshalling %s: %w", crd.Name, err)
		}
		buf.WriteString("---\n")
		buf.Write(doc)
	}
	if path == "-" {
		_, err := os.Stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// marshal renders a CRD as a manifest: apiVersion/kind set, and without the empty status and null
// creationTimestamp that a typed object always carries (as upstream's own manifest marshaller does).
func marshal(crd *extv1.CustomResourceDefinition) ([]byte, error) {
	crd = crd.DeepCopy()
	crd.APIVersion = extv1.SchemeGroupVersion.String()
	crd.Kind = "CustomResourceDefinition"
	raw, err := json.Marshal(crd)
	if err != nil {
		return nil, err
	}
	var obj map[string]interface{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep integers such as int64 bounds exact
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	delete(obj, "status")
	if meta, ok := obj["metadata"].(map[string]interface{}); ok {
		delete(meta, "creationTimestamp")
	}
	return yaml.Marshal(obj)
}
