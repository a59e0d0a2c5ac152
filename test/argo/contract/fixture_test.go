package contract

// Builds, for one shipped template and one scenario, the AnalysisRun the controller would
// create, with its web URLs aimed at the judge under test.

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	templateutil "github.com/argoproj/argo-rollouts/utils/template"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The judge's address inside the cluster and its analysis path (the agreed HTTP contract).
const (
	inClusterJudgeHost = "canary-judge.canary-judge.svc.cluster.local:8080"
	analysesPath       = "/api/v1/analyses"
)

type manifests struct {
	templates []shippedTemplate
	rollouts  []*v1alpha1.Rollout
	err       error
}

var (
	loadOnce sync.Once
	loaded   manifests
)

func shipped(t *testing.T) manifests {
	t.Helper()
	loadOnce.Do(func() {
		loaded.templates, loaded.err = loadTemplates(env.TemplatesDir)
		if loaded.err == nil {
			loaded.rollouts, loaded.err = loadRollouts(env.RolloutsDir)
		}
	})
	if loaded.err != nil {
		t.Fatalf("loading manifests: %v", loaded.err)
	}
	if len(loaded.templates) == 0 {
		t.Fatalf("no AnalysisTemplate or ClusterAnalysisTemplate found in %s: nothing ships to test", env.TemplatesDir)
	}
	return loaded
}

// usage is one place a template is used with its arguments: an analysis block of a shipped
// Rollout, or (for a template no shipped Rollout references) the arguments of
// defaultRolloutArgs on a Rollout named by the environment.
type usage struct {
	rollout *v1alpha1.Rollout
	args    []v1alpha1.AnalysisRunArgument
	source  string
}

func usagesOf(m manifests, template shippedTemplate) ([]usage, error) {
	var out []usage
	for _, r := range m.rollouts {
		for _, a := range rolloutAnalyses(r) {
			for _, ref := range a.analysis.Templates {
				if ref.TemplateName == template.Name && ref.IsClusterScope() == (template.Kind == "ClusterAnalysisTemplate") {
					out = append(out, usage{rollout: r, args: a.analysis.Args, source: fmt.Sprintf("Rollout %s %s", r.Name, a.where)})
				}
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	args, err := defaultRolloutArgs(template)
	r := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: env.RolloutName, Namespace: env.RolloutNamespace}}
	return []usage{{rollout: r, args: args, source: "test-supplied args"}}, err
}

// prepared is a run ready for Argo's code: metrics still hold {{args.*}} (the controller
// resolves them at each measurement) except the URL, aimed at the judge under test.
type prepared struct {
	template    shippedTemplate
	rollout     *v1alpha1.Rollout
	argsSource  string
	run         *v1alpha1.AnalysisRun
	secretData  map[string]map[string]string // secret name → key → value, supplied by the test
	originalURL []string                     // per metric, the URL as the template resolves it
}

func (p prepared) secrets() []*corev1.Secret {
	var out []*corev1.Secret
	for name, data := range p.secretData {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.run.Namespace}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		out = append(out, s)
	}
	return out
}

// prepare builds template's AnalysisRun (its first usage) for scenario sc, its URLs aimed at
// judge ("" leaves them as shipped).
func prepare(t *testing.T, template shippedTemplate, sc scenario, judge string) prepared {
	t.Helper()
	us, err := usagesOf(shipped(t), template)
	if err != nil {
		t.Fatal(err)
	}
	return prepareUsage(t, template, us[0], sc, judge)
}

// prepareUsage builds the AnalysisRun of template as used by u, for the Rollout's pods of
// scenario sc: the Rollout in the scenario's namespace, its ReplicaSets with the scenario's
// pod-template hashes.
func prepareUsage(t *testing.T, template shippedTemplate, u usage, sc scenario, judge string) prepared {
	t.Helper()
	rollout := u.rollout.DeepCopy()
	rollout.Namespace = sc.Namespace
	if rollout.Namespace == "" {
		rollout.Namespace = env.RolloutNamespace
	}
	run, err := newRun(template, u.args, rollout, hashes{Canary: sc.CanaryHash, Stable: sc.StableHash})
	if err != nil {
		t.Fatalf("%s (%s): %v", template.Name, u.source, err)
	}
	p := prepared{template: template, rollout: rollout, argsSource: u.source, run: run, secretData: map[string]map[string]string{}}
	for _, a := range secretArgs(run) {
		ref := a.ValueFrom.SecretKeyRef
		if p.secretData[ref.Name] == nil {
			p.secretData[ref.Name] = map[string]string{}
		}
		// Every secret a judge template reads is the judge's bearer token.
		p.secretData[ref.Name][ref.Key] = env.Token
	}
	resolvedArgs, err := resolveSecretsAsController(run.Spec.Args, p.secretData)
	if err != nil {
		t.Fatal(err)
	}
	for i := range run.Spec.Metrics {
		web := run.Spec.Metrics[i].Provider.Web
		if web == nil {
			p.originalURL = append(p.originalURL, "")
			continue
		}
		resolved, err := templateutil.ResolveArgs(web.URL, resolvedArgs)
		if err != nil {
			t.Fatalf("metric %s url %q: %v", run.Spec.Metrics[i].Name, web.URL, err)
		}
		p.originalURL = append(p.originalURL, resolved)
		if judge != "" {
			u, err := url.Parse(resolved)
			if err != nil {
				t.Fatalf("metric %s url %q: %v", run.Spec.Metrics[i].Name, resolved, err)
			}
			web.URL = strings.TrimRight(judge, "/") + u.RequestURI()
		}
	}
	return p
}

// resolvedMetric is metric i of p with its arguments resolved as the controller resolves them
// right before a measurement (secrets read, then Argo's ResolveMetricArgs).
func (p prepared) resolvedMetric(t *testing.T, i int) v1alpha1.Metric {
	t.Helper()
	args, err := resolveSecretsAsController(p.run.Spec.Args, p.secretData)
	if err != nil {
		t.Fatal(err)
	}
	m, err := analysisutil.ResolveMetricArgs(p.run.Spec.Metrics[i], args)
	if err != nil {
		t.Fatalf("ResolveMetricArgs(%s): %v", p.run.Spec.Metrics[i].Name, err)
	}
	return *m
}

func webMetricIndexes(run *v1alpha1.AnalysisRun) []int {
	var out []int
	for i, m := range run.Spec.Metrics {
		if m.Provider.Web != nil {
			out = append(out, i)
		}
	}
	return out
}

func describe(p prepared) string {
	return fmt.Sprintf("%s %s (%s, args from %s)", p.template.Kind, p.template.Name, p.template.File, p.argsSource)
}

// What each shipped template is for, as its header comment says; the tests hold each template
// to its intent. A template missing here fails the tests until its intent is declared.
type intent int

const (
	// A step gate: ask every interval, Successful at the first Pass, Failed at the first
	// Fail, Inconclusive when count runs out with no conclusive answer.
	intentGate intent = iota + 1
	// The background guard: Pass and Inconclusive are both fine (Successful measurements),
	// the first Fail fails the run; no count, it runs until the Rollout ends it.
	intentGuard
	// Not a judge template (Argo's built-in Prometheus provider): validated only.
	intentNotJudge
	// Asks the judge through canary-judge's metric plugin, not the web provider: resolved and
	// validated here like the others; its measurements are plugins/metric/test's, run through
	// Argo's plugin client against the same judge.
	intentPlugin
	// The pre-traffic API contract gate: one measurement of the judge's contract endpoint
	// (contract_gate_test.go), not a statistical verdict.
	intentContract
)

var intents = map[string]intent{
	"canary-judge-error-rate":        intentGate,
	"canary-judge-latency":           intentGate,
	"canary-judge-scorecard":         intentGate,
	"canary-judge-guard":             intentGuard,
	"canary-judge-contract":          intentContract,
	"prometheus-error-rate-fallback": intentNotJudge,
	"canary-judge-plugin-scorecard":  intentPlugin,
	"canary-judge-plugin-guard":      intentPlugin,
}

func intentOf(t *testing.T, template shippedTemplate) intent {
	t.Helper()
	in, ok := intents[template.Name]
	if !ok {
		t.Fatalf("template %s (%s) has no declared intent in the contract tests: add it to `intents`", template.Name, template.File)
	}
	return in
}

// judgeTemplates are the shipped templates that ask the judge for a statistical verdict through
// the web provider.
func judgeTemplates(t *testing.T) []shippedTemplate {
	t.Helper()
	var out []shippedTemplate
	for _, tmpl := range shipped(t).templates {
		if in := intentOf(t, tmpl); in != intentNotJudge && in != intentPlugin && in != intentContract {
			out = append(out, tmpl)
		}
	}
	if len(out) == 0 {
		t.Fatal("no shipped template calls the judge")
	}
	return out
}

// regressions lists the scenarios a metric must fail: one per check type it asks for.
func regressions(t *testing.T, m v1alpha1.Metric) []string {
	t.Helper()
	var out []string
	types := checkTypes(m)
	if types["error-rate"] {
		out = append(out, scErrors3x)
	}
	if types["latency"] {
		out = append(out, scLatencyBad)
	}
	if len(out) == 0 {
		t.Fatalf("metric %s asks the judge for no known check type (%v)", m.Name, types)
	}
	return out
}
