package chartcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

// helmEnv names the helm binary; `make chart-check` sets it (scripts/helm.sh builds it once).
const helmEnv = "MEETCOORD_HELM_BIN"

// kubeVersion is the Kubernetes version the chart is rendered for (client-go's minor version).
const kubeVersion = "1.34.0"

func chartDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test's source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "helm", "meetcoord")
}

func helmBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(helmEnv)
	if bin == "" {
		t.Fatalf("%s is not set: run this test with `make chart-check` (it builds helm once into .cache and sets it)", helmEnv)
	}
	return bin
}

// helmTemplate renders the chart as release "meet" in namespace "video" with the given values
// files (relative to the chart), returning helm's output and its error (stderr included).
func helmTemplate(t *testing.T, valuesFiles []string, set ...string) (string, error) {
	t.Helper()
	dir := chartDir(t)
	args := []string{"template", "meet", dir, "--namespace", "video", "--kube-version", kubeVersion}
	for _, f := range valuesFiles {
		args = append(args, "--values", filepath.Join(dir, f))
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helmBin(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// rendered is one rendition of the chart, its objects by kind (one object per kind at most,
// as the chart makes).
type rendered struct {
	objects        map[string]runtime.Object
	serviceMonitor *serviceMonitor
}

// decodeAll decodes every YAML document strictly: an unknown or duplicated field, a wrong type or
// an unknown kind fails the test.
func decodeAll(t *testing.T, manifests string) rendered {
	t.Helper()
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	out := rendered{objects: map[string]runtime.Object{}}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifests)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("splitting the rendered manifests: %v", err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := sigsyaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("reading a document's kind: %v\n%s", err, doc)
		}
		if head.Kind == "" {
			continue // comments only
		}
		if head.Kind == "ServiceMonitor" {
			// A prometheus-operator CRD, not in client-go's scheme: decoded strictly into the
			// fields the chart sets.
			if head.APIVersion != "monitoring.coreos.com/v1" {
				t.Fatalf("ServiceMonitor apiVersion %q, want monitoring.coreos.com/v1", head.APIVersion)
			}
			var sm serviceMonitor
			if err := sigsyaml.UnmarshalStrict(doc, &sm); err != nil {
				t.Fatalf("ServiceMonitor does not decode strictly: %v\n%s", err, doc)
			}
			out.serviceMonitor = &sm
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s does not decode strictly with client-go's scheme: %v\n%s", head.Kind, err, doc)
		}
		if _, dup := out.objects[gvk.Kind]; dup {
			t.Fatalf("two objects of kind %s rendered", gvk.Kind)
		}
		out.objects[gvk.Kind] = obj
	}
	return out
}

func itoa(n int32) string { return fmt.Sprint(n) }
