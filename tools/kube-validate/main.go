// kube-validate checks Kubernetes manifests offline: every document of every file is decoded strictly
// (unknown or duplicated fields and wrong types are errors) into the typed API objects of k8s.io/api, the
// same Go types the API server decodes into, so no JSON schemas have to be downloaded. On top of the decoding
// it checks what the types alone cannot: the fields the API server requires for the kinds we ship, probes and
// Service ports that name container ports that exist, and a kustomization.yaml whose resources exist.
//
// Usage: kube-validate <dir>   (the directory holding kustomization.yaml). Prints one line per object and
// exits 1 with every problem found.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization that we use; strict decoding rejects anything else.
type kustomization struct {
	APIVersion        string            `json:"apiVersion"`
	Kind              string            `json:"kind"`
	Namespace         string            `json:"namespace,omitempty"`
	Resources         []string          `json:"resources"`
	Labels            []json            `json:"labels,omitempty"`
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
	Images            []json            `json:"images,omitempty"`
}

type json = map[string]interface{}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kube-validate <directory with kustomization.yaml>")
		os.Exit(2)
	}
	problems, objects := validateDir(os.Args[1])
	for _, o := range objects {
		fmt.Println(o)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p)
		}
		os.Exit(1)
	}
}

func validateDir(dir string) (problems []string, objects []string) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return []string{err.Error()}, nil
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return []string{err.Error()}, nil
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		return []string{"kustomization.yaml: " + err.Error()}, nil
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		problems = append(problems, "kustomization.yaml: apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization")
	}
	if len(k.Resources) == 0 {
		problems = append(problems, "kustomization.yaml: no resources")
	}

	var all []runtime.Object
	for _, file := range k.Resources {
		docs, err := documents(filepath.Join(dir, file))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", file, err))
			continue
		}
		for i, doc := range docs {
			obj, _, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s (document %d): %v", file, i+1, err))
				continue
			}
			for _, p := range check(obj) {
				problems = append(problems, fmt.Sprintf("%s (document %d): %s", file, i+1, p))
			}
			all = append(all, obj)
			objects = append(objects, describe(obj))
		}
	}
	problems = append(problems, crossCheck(all)...)
	sort.Strings(objects)
	return problems, objects
}

// documents splits a multi-document YAML file, dropping empty documents.
func documents(path string) ([][]byte, error) {
	f, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	reader := utilyaml.NewYAMLReader(bufioReader(f))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
}

func describe(obj runtime.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind()
	name := ""
	if m, ok := obj.(interface{ GetName() string }); ok {
		name = m.GetName()
	}
	return fmt.Sprintf("%s/%s %s", kind.GroupVersion().String(), kind.Kind, name)
}

// check: what the API server's validation requires of the kinds we ship, beyond what decoding shows.
func check(obj runtime.Object) []string {
	var p []string
	if m, ok := obj.(interface{ GetName() string }); ok && m.GetName() == "" {
		p = append(p, "metadata.name is required")
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Spec.Selector == nil || len(o.Spec.Selector.MatchLabels) == 0 {
			p = append(p, "spec.selector.matchLabels is required")
		} else {
			for k, v := range o.Spec.Selector.MatchLabels {
				if o.Spec.Template.Labels[k] != v {
					p = append(p, fmt.Sprintf("spec.selector does not match the pod template's labels (%s=%s)", k, v))
				}
			}
		}
		p = append(p, checkPod(&o.Spec.Template.Spec, "spec.template.spec")...)
	case *batchv1.Job:
		if o.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever && o.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
			p = append(p, "spec.template.spec.restartPolicy must be Never or OnFailure for a Job")
		}
		p = append(p, checkPod(&o.Spec.Template.Spec, "spec.template.spec")...)
	case *corev1.Service:
		if len(o.Spec.Ports) == 0 {
			p = append(p, "spec.ports is required")
		}
		for i, port := range o.Spec.Ports {
			if port.Port <= 0 || port.Port > 65535 {
				p = append(p, fmt.Sprintf("spec.ports[%d].port must be 1-65535", i))
			}
		}
	}
	return p
}

func checkPod(spec *corev1.PodSpec, at string) []string {
	var p []string
	if len(spec.Containers) == 0 {
		p = append(p, at+".containers is required")
	}
	for i, c := range spec.Containers {
		where := fmt.Sprintf("%s.containers[%d]", at, i)
		if c.Name == "" || c.Image == "" {
			p = append(p, where+": name and image are required")
		}
		ports := map[string]bool{}
		for _, port := range c.Ports {
			if port.ContainerPort <= 0 || port.ContainerPort > 65535 {
				p = append(p, fmt.Sprintf("%s: containerPort %d out of range", where, port.ContainerPort))
			}
			if port.Name != "" {
				ports[port.Name] = true
			}
		}
		for name, probe := range map[string]*corev1.Probe{"livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe, "startupProbe": c.StartupProbe} {
			if probe == nil {
				continue
			}
			if probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal] {
				p = append(p, fmt.Sprintf("%s.%s: port %q is not a named port of the container", where, name, probe.HTTPGet.Port.StrVal))
			}
		}
		for _, env := range c.EnvFrom {
			if env.ConfigMapRef == nil && env.SecretRef == nil {
				p = append(p, where+": envFrom needs configMapRef or secretRef")
			}
		}
	}
	return p
}

// crossCheck: references between the objects: ConfigMaps and Secrets used by pods exist, Services select pods.
func crossCheck(objs []runtime.Object) []string {
	configMaps, secrets := map[string]bool{}, map[string]bool{}
	var podLabels []map[string]string
	var pods []*corev1.PodSpec
	for _, obj := range objs {
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			configMaps[o.Name] = true
		case *corev1.Secret:
			secrets[o.Name] = true
		case *appsv1.Deployment:
			podLabels = append(podLabels, o.Spec.Template.Labels)
			pods = append(pods, &o.Spec.Template.Spec)
		case *batchv1.Job:
			pods = append(pods, &o.Spec.Template.Spec)
		}
	}
	var p []string
	for _, pod := range pods {
		for _, c := range pod.Containers {
			for _, env := range c.EnvFrom {
				if env.ConfigMapRef != nil && !configMaps[env.ConfigMapRef.Name] && !isOptional(env.ConfigMapRef.Optional) {
					p = append(p, fmt.Sprintf("container %s: ConfigMap %q is not defined", c.Name, env.ConfigMapRef.Name))
				}
				if env.SecretRef != nil && !secrets[env.SecretRef.Name] && !isOptional(env.SecretRef.Optional) {
					p = append(p, fmt.Sprintf("container %s: Secret %q is not defined", c.Name, env.SecretRef.Name))
				}
			}
		}
	}
	for _, obj := range objs {
		svc, ok := obj.(*corev1.Service)
		if !ok {
			continue
		}
		matched := false
		for _, labels := range podLabels {
			if selects(svc.Spec.Selector, labels) {
				matched = true
			}
		}
		if !matched {
			p = append(p, fmt.Sprintf("Service %s selects no pod of the manifests", svc.Name))
		}
	}
	return p
}

func isOptional(b *bool) bool { return b != nil && *b }

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func stripComments(doc []byte) []byte {
	var out []string
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\n"))
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
