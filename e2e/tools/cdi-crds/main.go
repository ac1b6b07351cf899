// Command cdi-crds prints, as YAML documents separated by "---", every CustomResourceDefinition that CDI
// installs: the CDI CRD (shipped in the cdi-operator manifest, operator.NewCdiCrd) plus the "crd-resources"
// group of cluster-scoped resources that cdi-operator creates at runtime (cluster.CreateStaticResourceGroup).
// Both decode upstream's controller-gen output embedded as resources.CDICRDs. Output is sorted by CRD name.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"kubevirt.io/containerized-data-importer/pkg/operator/resources/cluster"
	cdioperator "kubevirt.io/containerized-data-importer/pkg/operator/resources/operator"
)

func main() {
	namespace := flag.String("namespace", "cdi", "namespace cdi-operator runs in")
	out := flag.String("o", "-", "output file, - for stdout")
	flag.Parse()

	crds, err := generate(*namespace)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdi-crds:", err)
		os.Exit(1)
	}
	if err := write(*out, crds); err != nil {
		fmt.Fprintln(os.Stderr, "cdi-crds:", err)
		os.Exit(1)
	}
}

func generate(namespace string) ([]*extv1.CustomResourceDefinition, error) {
	objs, err := cluster.CreateStaticResourceGroup("crd-resources", &cluster.FactoryArgs{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("generating cluster resources: %w", err)
	}
	crds := []*extv1.CustomResourceDefinition{cdioperator.NewCdiCrd()}
	for _, obj := range objs {
		crd, ok := obj.(*extv1.CustomResourceDefinition)
		if !ok {
			return nil, fmt.Errorf("crd-resources holds a %T", obj)
		}
		crds = append(crds, crd)
	}
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

// check fails on a CRD that would not be a complete apiextensions.k8s.io/v1 object with a schema per version
// (upstream ignores the error of decoding its embedded YAML, so a bad decode would show up here).
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
// creationTimestamp that a typed object always carries.
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
