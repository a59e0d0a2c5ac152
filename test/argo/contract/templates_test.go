package contract

// Part 1: every shipped template goes through Argo's own argument resolution and validation,
// and its web metric reads the judge's answer the way the contract says.

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	"github.com/argoproj/argo-rollouts/utils/evaluate"
	log "github.com/sirupsen/logrus"
	"k8s.io/utils/ptr"
)

// Pod-template hashes shaped like the ones Kubernetes computes, for tests that reach no judge.
var testScenario = scenario{Namespace: "catalogo", CanaryHash: "6d4f8b9c7x", StableHash: "58c7d6f9b4"}

func logEntry() log.Entry { return *log.NewEntry(log.StandardLogger()) }

func TestTemplates_When_ResolvedLikeTheController_Then_ArgoValidatesThem(t *testing.T) {
	for _, tmpl := range shipped(t).templates {
		us, err := usagesOf(shipped(t), tmpl)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			t.Run(tmpl.Name+"/"+u.source, func(t *testing.T) {
				checkUsage(t, tmpl, u)
			})
		}
	}
}

func checkUsage(t *testing.T, tmpl shippedTemplate, u usage) {
	p := prepareUsage(t, tmpl, u, testScenario, "")
	run := p.run
	in := intentOf(t, tmpl)
	if in == intentPlugin {
		for _, m := range run.Spec.Metrics {
			if len(m.Provider.Plugin) != 1 || m.Provider.Plugin["canary-judge/canary-judge"] == nil {
				t.Errorf("%s: metric %s should ask the judge through the canary-judge/canary-judge plugin", describe(p), m.Name)
			}
		}
	} else if in == intentNotJudge {
		if len(webMetricIndexes(run)) != 0 {
			t.Errorf("%s is declared not to call the judge but has web metrics", describe(p))
		}
	} else if len(webMetricIndexes(run)) != len(run.Spec.Metrics) {
		t.Fatalf("%s: every metric of a judge template should call the judge through Argo's web provider", describe(p))
	}

	// What the controller does first on every reconcile: resolve with secrets masked
	// (getResolvedMetricsWithoutSecrets), then ValidateMetrics on the result.
	masked := make([]v1alpha1.Argument, len(run.Spec.Args))
	for i, a := range run.Spec.Args {
		a = *a.DeepCopy()
		if a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil {
			a.ValueFrom, a.Value = nil, ptr.To("temp-for-secret")
		}
		masked[i] = a
	}
	var maskedMetrics []v1alpha1.Metric
	for _, m := range run.Spec.Metrics {
		r, err := analysisutil.ResolveMetricArgs(m, masked)
		if err != nil {
			t.Fatalf("%s: metric %s: args do not resolve: %v", describe(p), m.Name, err)
		}
		maskedMetrics = append(maskedMetrics, *r)
	}
	if err := analysisutil.ValidateMetrics(maskedMetrics); err != nil {
		t.Fatalf("%s: Argo rejects the analysis spec: %v", describe(p), err)
	}
	if in == intentPlugin {
		for _, m := range maskedMetrics {
			if raw := string(m.Provider.Plugin["canary-judge/canary-judge"]); strings.Contains(raw, "{{") || !strings.Contains(raw, testScenario.StableHash) {
				t.Errorf("metric %s: plugin configuration after resolution %s: want every arg resolved and the stable hash %s", m.Name, raw, testScenario.StableHash)
			}
		}
		return
	}

	for _, i := range webMetricIndexes(run) {
		m := p.resolvedMetric(t, i)
		if err := analysisutil.ValidateMetric(m); err != nil {
			t.Errorf("metric %s: ValidateMetric: %v", m.Name, err)
		}
		if in == intentContract {
			checkContractMetric(t, p, i, m)
			continue
		}
		checkWebMetric(t, p, i, m)
		checkIntent(t, in, m)
	}
}

// checkIntent checks the counting fields that make a metric behave as its intent says.
func checkIntent(t *testing.T, in intent, m v1alpha1.Metric) {
	t.Helper()
	iv := func(p interface{ IntValue() int }) int { return p.IntValue() }
	switch in {
	case intentGate:
		if m.Count == nil || iv(m.Count) <= 0 || m.Interval == "" {
			t.Errorf("gate metric %s: needs a count and an interval (count %v, interval %q)", m.Name, m.Count, m.Interval)
		}
		if m.ConsecutiveSuccessLimit == nil || iv(m.ConsecutiveSuccessLimit) != 1 {
			t.Errorf("gate metric %s: consecutiveSuccessLimit %v, want 1 (Successful at the first Pass)", m.Name, m.ConsecutiveSuccessLimit)
		}
	case intentGuard:
		if m.Count != nil && iv(m.Count) > 0 {
			t.Errorf("guard metric %s: count %v, want none (runs until the Rollout ends)", m.Name, m.Count)
		}
	}
	if m.FailureLimit != nil && iv(m.FailureLimit) != 0 {
		t.Errorf("metric %s: failureLimit %v, want 0 (abort at the first Fail)", m.Name, m.FailureLimit)
	}
}

// checkWebMetric checks one resolved web metric against the judge's HTTP contract.
func checkWebMetric(t *testing.T, p prepared, i int, m v1alpha1.Metric) {
	t.Helper()
	web := m.Provider.Web
	if raw := mustJSON(t, m); strings.Contains(raw, "{{") {
		t.Errorf("metric %s: unresolved template left after resolution: %s", m.Name, raw)
	}
	u, err := url.Parse(p.originalURL[i])
	if err != nil || u.Host != inClusterJudgeHost || u.Path != analysesPath {
		t.Errorf("metric %s: url %q, want http://%s%s", m.Name, p.originalURL[i], inClusterJudgeHost, analysesPath)
	}
	if web.Method != v1alpha1.WebMetricMethodPost {
		t.Errorf("metric %s: method %q, want POST", m.Name, web.Method)
	}
	// The judge's one-line summary, verdict first: Argo stores what jsonPath selects as the
	// measurement value, and a string is what the dashboard shows as text (an object shows as
	// [object Object]; test/unit/dashboard-value.test.ts).
	if web.JSONPath != "{$.summary}" {
		t.Errorf("metric %s: jsonPath %q, want {$.summary}", m.Name, web.JSONPath)
	}
	if web.Body != "" || len(web.JSONBody) == 0 {
		t.Errorf("metric %s: the request must be a jsonBody (body %q, jsonBody %d bytes)", m.Name, web.Body, len(web.JSONBody))
	}
	var body struct {
		Rollout  map[string]any   `json:"rollout"`
		Selector map[string]any   `json:"selector"`
		Checks   []map[string]any `json:"checks"`
	}
	if err := json.Unmarshal(web.JSONBody, &body); err != nil {
		t.Errorf("metric %s: jsonBody after resolution is not JSON: %v", m.Name, err)
	}
	if body.Selector["mode"] != "pod-hash" || body.Selector["canary"] != testScenario.CanaryHash || body.Selector["stable"] != testScenario.StableHash {
		t.Errorf("metric %s: selector %v does not carry the canary/stable pod-template hashes %s/%s", m.Name, body.Selector, testScenario.CanaryHash, testScenario.StableHash)
	}
	if body.Rollout["name"] != p.rollout.Name || body.Rollout["namespace"] != p.rollout.Namespace {
		t.Errorf("metric %s: rollout %v, want %s/%s", m.Name, body.Rollout, p.rollout.Namespace, p.rollout.Name)
	}
	if len(body.Checks) == 0 {
		t.Errorf("metric %s: jsonBody has no checks", m.Name)
	}
	if env.Token != "" && len(secretArgs(p.run)) > 0 {
		found := false
		for _, h := range web.Headers {
			if strings.EqualFold(h.Key, "Authorization") && h.Value == "Bearer "+env.Token {
				found = true
			}
		}
		if !found {
			t.Errorf("metric %s: no Authorization: Bearer <secret> header after resolution (headers %v)", m.Name, web.Headers)
		}
	}
	// Argo's own condition evaluation on each verdict the judge can give, and on
	// lower-case spellings it must not take for a verdict, in the shape the judge answers
	// under summary (decoded from JSON, as the web provider does).
	wants := map[string]v1alpha1.AnalysisPhase{
		"Pass":         v1alpha1.AnalysisPhaseSuccessful,
		"Fail":         v1alpha1.AnalysisPhaseFailed,
		"Inconclusive": v1alpha1.AnalysisPhaseInconclusive,
		"pass":         v1alpha1.AnalysisPhaseInconclusive,
		"fail":         v1alpha1.AnalysisPhaseInconclusive,
	}
	if intentOf(t, p.template) == intentGuard {
		// The guard only looks for harm: not-enough-data is a fine answer for it.
		wants["Inconclusive"] = v1alpha1.AnalysisPhaseSuccessful
	}
	for verdict, want := range wants {
		var result any
		raw := mustJSON(t, verdict+" error-rate: canary 0.1% (1/1000) vs stable 0.1% (10/10000)")
		if err := json.Unmarshal([]byte(raw), &result); err != nil {
			t.Fatal(err)
		}
		got, err := evaluate.EvaluateResult(result, m, logEntry())
		if err != nil || got != want {
			t.Errorf("metric %s: verdict %q evaluates to %s (err %v), want %s", m.Name, verdict, got, err, want)
		}
	}
	// A bare verdict string (what {$.verdict} would select) is not the object: never a Pass.
	if got, _ := evaluate.EvaluateResult("Pass", m, logEntry()); got == v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("metric %s: the bare string \"Pass\" evaluates to %s, want anything but Successful", m.Name, got)
	}
}

// Argo substitutes args into the jsonBody JSON-escaped: a hostile hash arg must not
// break out of its string, and the judge must see it verbatim (and reject it, see the provider
// tests).
func TestTemplates_When_HashArgHoldsQuotes_Then_JSONBodyStaysValidJSON(t *testing.T) {
	hostile := `abc"} or vector(1) #`
	for _, tmpl := range judgeTemplates(t) {
		t.Run(tmpl.Name, func(t *testing.T) {
			sc := testScenario
			sc.CanaryHash = hostile
			p := prepare(t, tmpl, sc, "")
			for _, i := range webMetricIndexes(p.run) {
				m := p.resolvedMetric(t, i)
				var body struct {
					Selector map[string]any `json:"selector"`
				}
				if err := json.Unmarshal(m.Provider.Web.JSONBody, &body); err != nil {
					t.Fatalf("metric %s: jsonBody is not JSON after substituting %q: %v", m.Name, hostile, err)
				}
				if body.Selector["mode"] == "pod-hash" && body.Selector["canary"] != hostile {
					t.Errorf("metric %s: canary hash arrives as %v, want %q verbatim", m.Name, body.Selector["canary"], hostile)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
