package contract

// Loading the shipped manifests and turning them into AnalysisRuns the way the Argo Rollouts
// controller does: templates decoded into Argo's own API types, Rollout arguments resolved by
// Argo's BuildArgumentsForRolloutAnalysisRun against ReplicaSets carrying the pod-template hashes
// the test chooses, templates flattened and arguments merged by NewAnalysisRunFromTemplates.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
)

// shippedTemplate is one (Cluster)AnalysisTemplate read from analysis-templates/.
type shippedTemplate struct {
	File    string
	Kind    string // AnalysisTemplate or ClusterAnalysisTemplate
	Name    string
	Spec    v1alpha1.AnalysisTemplateSpec
	cluster *v1alpha1.ClusterAnalysisTemplate
	ns      *v1alpha1.AnalysisTemplate
}

// yamlDocs splits a multi-document YAML file into JSON documents, dropping empty ones.
func yamlDocs(data []byte) ([][]byte, error) {
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var docs [][]byte
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, err
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
			continue
		}
		docs = append(docs, raw)
	}
}

// strictDecode decodes JSON into out and rejects unknown fields, so a misspelt key in a
// manifest (say `jsonpath` for `jsonPath`) fails here instead of being silently dropped the
// way the API server's non-strict decoding would drop it.
func strictDecode(doc []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	return dec.Decode(out)
}

// fileDoc is one YAML document of a manifest file, with its kind read (or why not).
type fileDoc struct {
	file     string
	index    int
	doc      []byte
	typeMeta metav1.TypeMeta
	typeErr  error
}

// readDocs reads the files in sorted order and splits each into its YAML documents.
func readDocs(files []string) ([]fileDoc, error) {
	sort.Strings(files)
	var out []fileDoc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, err := yamlDocs(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for i, doc := range docs {
			d := fileDoc{file: f, index: i, doc: doc}
			d.typeErr = json.Unmarshal(doc, &d.typeMeta)
			out = append(out, d)
		}
	}
	return out, nil
}

// loadTemplates reads every *.yaml/*.yml in dir and returns the analysis templates in it.
// Other kinds (e.g. a kustomization.yaml) are ignored; a file that does not decode is an error.
func loadTemplates(dir string) ([]shippedTemplate, error) {
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	docs, err := readDocs(files)
	if err != nil {
		return nil, err
	}
	var out []shippedTemplate
	for _, d := range docs {
		f, i, doc, tm := d.file, d.index, d.doc, d.typeMeta
		if d.typeErr != nil {
			return nil, fmt.Errorf("%s doc %d: %w", f, i, d.typeErr)
		}
		switch tm.Kind {
		case "ClusterAnalysisTemplate":
			var t v1alpha1.ClusterAnalysisTemplate
			if err := strictDecode(doc, &t); err != nil {
				return nil, fmt.Errorf("%s doc %d (%s): %w", f, i, tm.Kind, err)
			}
			out = append(out, shippedTemplate{File: filepath.Base(f), Kind: tm.Kind, Name: t.Name, Spec: t.Spec, cluster: &t})
		case "AnalysisTemplate":
			var t v1alpha1.AnalysisTemplate
			if err := strictDecode(doc, &t); err != nil {
				return nil, fmt.Errorf("%s doc %d (%s): %w", f, i, tm.Kind, err)
			}
			out = append(out, shippedTemplate{File: filepath.Base(f), Kind: tm.Kind, Name: t.Name, Spec: t.Spec, ns: &t})
		}
		if (tm.Kind == "ClusterAnalysisTemplate" || tm.Kind == "AnalysisTemplate") && tm.APIVersion != "argoproj.io/v1alpha1" {
			return nil, fmt.Errorf("%s doc %d: apiVersion %q, want argoproj.io/v1alpha1", f, i, tm.APIVersion)
		}
	}
	return out, nil
}

// loadRollouts reads the Rollouts in dir and its subdirectories (other kinds ignored).
func loadRollouts(dir string) ([]*v1alpha1.Rollout, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	docs, err := readDocs(files)
	if err != nil {
		return nil, err
	}
	var out []*v1alpha1.Rollout
	for _, d := range docs {
		f, doc := d.file, d.doc
		if d.typeErr != nil || d.typeMeta.Kind != "Rollout" {
			continue
		}
		var r v1alpha1.Rollout
		if err := strictDecode(doc, &r); err != nil {
			return nil, fmt.Errorf("%s (Rollout): %w", f, err)
		}
		out = append(out, &r)
	}
	return out, nil
}

// labelledAnalysis is one analysis block of a Rollout and where it sits.
type labelledAnalysis struct {
	where    string
	analysis v1alpha1.RolloutAnalysis
}

// rolloutAnalyses lists every analysis block of a canary Rollout (background analysis and
// analysis steps), the places where the controller builds AnalysisRuns from templates.
func rolloutAnalyses(r *v1alpha1.Rollout) []labelledAnalysis {
	var out []labelledAnalysis
	c := r.Spec.Strategy.Canary
	if c == nil {
		return out
	}
	if c.Analysis != nil {
		out = append(out, labelledAnalysis{"background analysis", c.Analysis.RolloutAnalysis})
	}
	for i, s := range c.Steps {
		if s.Analysis != nil {
			out = append(out, labelledAnalysis{fmt.Sprintf("step %d analysis", i), *s.Analysis})
		}
	}
	return out
}

// Pod-template hashes the test hands to Argo through ReplicaSet labels. They look like the
// hashes Kubernetes computes (lower-case alphanumerics, 9-10 chars).
type hashes struct{ Canary, Stable string }

func replicaSet(name, hash string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Name:   name + "-" + hash,
		Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
	}}
}

// defaultRolloutArgs is how the test passes a template's required arguments when no shipped
// Rollout references the template: like a Rollout would, by podTemplateHashValue or fieldRef.
// An argument not listed here and without a default makes the test fail, naming it.
func defaultRolloutArgs(template shippedTemplate) ([]v1alpha1.AnalysisRunArgument, error) {
	latest, stable := v1alpha1.Latest, v1alpha1.Stable
	var out []v1alpha1.AnalysisRunArgument
	var unknown []string
	for _, a := range template.Spec.Args {
		if a.Value != nil || a.ValueFrom != nil {
			continue
		}
		n := strings.ToLower(a.Name)
		switch {
		case strings.Contains(n, "hash") && (strings.Contains(n, "canary") || strings.Contains(n, "latest")):
			out = append(out, v1alpha1.AnalysisRunArgument{Name: a.Name, ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &latest}})
		case strings.Contains(n, "hash") && (strings.Contains(n, "stable") || strings.Contains(n, "baseline")):
			out = append(out, v1alpha1.AnalysisRunArgument{Name: a.Name, ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &stable}})
		case n == "rollout" || n == "rollout-name" || n == "service-name" || n == "app":
			out = append(out, v1alpha1.AnalysisRunArgument{Name: a.Name, ValueFrom: &v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.name"}}})
		case n == "namespace" || n == "rollout-namespace":
			out = append(out, v1alpha1.AnalysisRunArgument{Name: a.Name, ValueFrom: &v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.namespace"}}})
		case n == "critical-effect":
			// The strictest gate of the shipped Rollout (its 50% step).
			out = append(out, v1alpha1.AnalysisRunArgument{Name: a.Name, Value: "2"})
		default:
			unknown = append(unknown, a.Name)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("template %s declares required args %v that the contract test cannot supply (no shipped Rollout references it and the names are not recognised)", template.Name, unknown)
	}
	return out, nil
}

// newRun builds the AnalysisRun the controller would create for template from the given Rollout
// arguments, with Argo's own argument builder and template flattening.
func newRun(template shippedTemplate, rolloutArgs []v1alpha1.AnalysisRunArgument, rollout *v1alpha1.Rollout, h hashes) (*v1alpha1.AnalysisRun, error) {
	args, err := analysisutil.BuildArgumentsForRolloutAnalysisRun(rolloutArgs,
		replicaSet(rollout.Name, h.Stable), replicaSet(rollout.Name, h.Canary), rollout)
	if err != nil {
		return nil, fmt.Errorf("BuildArgumentsForRolloutAnalysisRun: %w", err)
	}
	var tmpls []*v1alpha1.AnalysisTemplate
	var cluster []*v1alpha1.ClusterAnalysisTemplate
	if template.cluster != nil {
		cluster = append(cluster, template.cluster.DeepCopy())
	} else {
		tmpls = append(tmpls, template.ns.DeepCopy())
	}
	run, err := analysisutil.NewAnalysisRunFromTemplates(tmpls, cluster, args, nil, nil, nil, nil,
		strings.ToLower(rollout.Name+"-"+h.Canary+"-"+template.Name), "", rollout.Namespace)
	if err != nil {
		return nil, fmt.Errorf("NewAnalysisRunFromTemplates: %w", err)
	}
	return run, nil
}

// secretArgs returns the names of the run's arguments taken from a Secret.
func secretArgs(run *v1alpha1.AnalysisRun) []v1alpha1.Argument {
	var out []v1alpha1.Argument
	for _, a := range run.Spec.Args {
		if a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil {
			out = append(out, a)
		}
	}
	return out
}

// resolveSecretsAsController replaces secretKeyRef arguments by the secret's value, as the
// analysis controller's (unexported) resolveArgs does before every measurement; the secret
// data are supplied by the test. The assessment tests go through the real controller instead,
// which reads a Secret object from a fake Kubernetes clientset.
func resolveSecretsAsController(args []v1alpha1.Argument, secrets map[string]map[string]string) ([]v1alpha1.Argument, error) {
	out := make([]v1alpha1.Argument, len(args))
	for i, a := range args {
		a = *a.DeepCopy()
		if a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil {
			ref := a.ValueFrom.SecretKeyRef
			v, ok := secrets[ref.Name][ref.Key]
			if !ok {
				return nil, fmt.Errorf("arg %s: the test has no secret %s key %s", a.Name, ref.Name, ref.Key)
			}
			a.Value = ptr.To(v)
			a.ValueFrom = nil
		}
		out[i] = a
	}
	return out, nil
}
