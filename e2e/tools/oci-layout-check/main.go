// Command oci-layout-check reads an OCI image layout with go-containerregistry's layout package and validates every
// image its index lists with the library's validate package: the manifest, config and each layer against their
// digests and sizes, and each layer's uncompressed digest against the config's diff_ids. It is the independent
// reader of what packaging/image-layout.ts writes: kvcloud's own code writes the layout, upstream's code judges it.
//
// It prints one JSON line per image, {"ref", "digest", "entrypoint", "user", "workingDir", "env", "layers"}, and
// exits non-zero with the first error it finds.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

type report struct {
	Ref        string   `json:"ref"`
	Digest     string   `json:"digest"`
	Entrypoint []string `json:"entrypoint"`
	Cmd        []string `json:"cmd"`
	User       string   `json:"user"`
	WorkingDir string   `json:"workingDir"`
	Env        []string `json:"env"`
	Layers     int      `json:"layers"`
}

func check(path string) error {
	index, err := layout.ImageIndexFromPath(path)
	if err != nil {
		return fmt.Errorf("read layout %s: %w", path, err)
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		return fmt.Errorf("read index.json: %w", err)
	}
	if len(manifest.Manifests) == 0 {
		return fmt.Errorf("index.json lists no image")
	}
	out := json.NewEncoder(os.Stdout)
	verified := map[v1.Hash]v1.Hash{} // layer digest -> its verified diff_id
	for _, desc := range manifest.Manifests {
		ref := desc.Annotations["org.opencontainers.image.ref.name"]
		img, err := index.Image(desc.Digest)
		if err != nil {
			return fmt.Errorf("image %s (%s): %w", ref, desc.Digest, err)
		}
		if err := validate.Image(img, validate.Fast); err != nil {
			return fmt.Errorf("image %s (%s): %w", ref, desc.Digest, err)
		}
		config, err := img.ConfigFile()
		if err != nil {
			return fmt.Errorf("image %s config: %w", ref, err)
		}
		layers, err := img.Layers()
		if err != nil {
			return fmt.Errorf("image %s layers: %w", ref, err)
		}
		if err := checkLayers(layers, verified); err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		if err := out.Encode(reportOf(ref, desc, config, len(layers))); err != nil {
			return err
		}
	}
	return nil
}

// checkLayers reads the content of each layer not verified before; a layer seen in an earlier image must have the
// diff_id this image's config gives it.
func checkLayers(layers []v1.Layer, verified map[v1.Hash]v1.Hash) error {
	for i, layer := range layers {
		digest, err := layer.Digest()
		if err != nil {
			return fmt.Errorf("layer %d digest: %w", i, err)
		}
		diffID, err := layer.DiffID()
		if err != nil {
			return fmt.Errorf("layer %d diff_id: %w", i, err)
		}
		if known, ok := verified[digest]; ok {
			if known != diffID {
				return fmt.Errorf("layer %d (%s): diff_id %s, but its content digests to %s", i, digest, diffID, known)
			}
			continue
		}
		if err := validate.Layer(layer); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, digest, err)
		}
		verified[digest] = diffID
	}
	return nil
}

func reportOf(ref string, desc v1.Descriptor, config *v1.ConfigFile, layers int) report {
	return report{
		Ref: ref, Digest: desc.Digest.String(), Entrypoint: config.Config.Entrypoint, Cmd: config.Config.Cmd,
		User: config.Config.User, WorkingDir: config.Config.WorkingDir, Env: config.Config.Env, Layers: layers,
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: oci-layout-check <OCI layout directory>")
		os.Exit(2)
	}
	if err := check(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "oci-layout-check:", err)
		os.Exit(1)
	}
}
