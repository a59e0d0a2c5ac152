package contract

// Part 6: the pre-traffic API contract gate. Its template goes through Argo's resolution and
// validation with the other templates (checkUsage → checkContractMetric); here Argo's own web
// provider measures it, as the shipped Rollout uses it, against the running judge, which replays
// the catalogo contract against real stand-in servers of catalogo v1.1 and two v1.2s
// (test/support/catalogo-standins.ts). Only the canary and stable URLs differ from the shipped
// args: the stand-ins listen on loopback, not at the cluster Services.

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/evaluate"
)

const contractChecksPath = "/api/v1/contract-checks"

// checkContractMetric holds the resolved contract metric to the judge's contract endpoint and
// to the Rollout it serves: one measurement decides, aimed at the Rollout's own Services.
func checkContractMetric(t *testing.T, p prepared, i int, m v1alpha1.Metric) {
	t.Helper()
	web := m.Provider.Web
	if raw := mustJSON(t, m); strings.Contains(raw, "{{") {
		t.Errorf("metric %s: unresolved template left after resolution: %s", m.Name, raw)
	}
	u, err := url.Parse(p.originalURL[i])
	if err != nil || u.Host != inClusterJudgeHost || u.Path != contractChecksPath {
		t.Errorf("metric %s: url %q, want http://%s%s", m.Name, p.originalURL[i], inClusterJudgeHost, contractChecksPath)
	}
	if web.Method != v1alpha1.WebMetricMethodPost || web.JSONPath != "{$.summary}" {
		t.Errorf("metric %s: method %q jsonPath %q, want POST and {$.summary}", m.Name, web.Method, web.JSONPath)
	}
	if m.Count == nil || m.Count.IntValue() != 1 || m.FailureLimit == nil || m.FailureLimit.IntValue() != 0 {
		t.Errorf("metric %s: count %v failureLimit %v, want one measurement that fails at the first Fail", m.Name, m.Count, m.FailureLimit)
	}
	var body struct{ Contract, Canary, Stable string }
	if err := json.Unmarshal(web.JSONBody, &body); err != nil {
		t.Fatalf("metric %s: jsonBody is not JSON after resolution: %v", m.Name, err)
	}
	if c := p.rollout.Spec.Strategy.Canary; c != nil && p.argsSource != "test-supplied args" {
		for _, pair := range [][2]string{{body.Canary, c.CanaryService}, {body.Stable, c.StableService}} {
			if target, err := url.Parse(pair[0]); err != nil || !strings.HasPrefix(target.Hostname(), pair[1]+"."+p.rollout.Namespace+".svc") {
				t.Errorf("metric %s: target %q is not the Rollout's Service %s in %s", m.Name, pair[0], pair[1], p.rollout.Namespace)
			}
		}
	}
	if body.Contract == "" {
		t.Errorf("metric %s: names no contract", m.Name)
	}
	wants := map[string]v1alpha1.AnalysisPhase{
		"Pass":         v1alpha1.AnalysisPhaseSuccessful,
		"Fail":         v1alpha1.AnalysisPhaseFailed,
		"Inconclusive": v1alpha1.AnalysisPhaseInconclusive,
		"pass":         v1alpha1.AnalysisPhaseInconclusive,
	}
	for verdict, want := range wants {
		// What the web provider hands the evaluator for {$.summary}: the summary string, which
		// opens with the verdict.
		var result any = verdict + " contract catalogo 1.1: x"
		if got, err := evaluate.EvaluateResult(result, m, logEntry()); err != nil || got != want {
			t.Errorf("metric %s: verdict %q evaluates to %s (err %v), want %s", m.Name, verdict, got, err, want)
		}
	}
}

// isContractGate reports whether a Rollout analysis is the contract gate (and nothing else).
func isContractGate(a *v1alpha1.RolloutAnalysis) bool {
	for _, ref := range a.Templates {
		if intents[ref.TemplateName] != intentContract {
			return false
		}
	}
	return len(a.Templates) > 0
}

// aimedAt is the usage u with the gate's targets replaced by canary and stable.
func aimedAt(u usage, canary, stable string) usage {
	args := make([]v1alpha1.AnalysisRunArgument, 0, len(u.args))
	for _, a := range u.args {
		switch a.Name {
		case "canary-url":
			a.Value = canary
		case "stable-url":
			a.Value = stable
		}
		args = append(args, a)
	}
	u.args = args
	return u
}

func TestContractGate_When_ArgoMeasuresTheShippedGate_Then_PhaseFollowsTheCanary(t *testing.T) {
	requireJudge(t)
	if env.CatalogoV11 == "" || env.CatalogoCompatible == "" || env.CatalogoBreaking == "" || env.CatalogoDown == "" {
		t.Fatal("CATALOGO_*_URL are not set: no stand-ins to replay the contract against (run test/argo/run.sh)")
	}
	var gate *shippedTemplate
	for _, tmpl := range shipped(t).templates {
		if intentOf(t, tmpl) == intentContract {
			gate = &tmpl
		}
	}
	if gate == nil {
		t.Fatal("no contract gate template ships")
	}
	us, err := usagesOf(shipped(t), *gate)
	if err != nil {
		t.Fatal(err)
	}
	if us[0].source == "test-supplied args" {
		t.Fatalf("no shipped Rollout uses %s", gate.Name)
	}
	cases := []struct {
		name, canary string
		want         v1alpha1.AnalysisPhase
		inValue      []string
	}{
		{"When_V12AddsAFieldAndAnEndpoint_Then_Successful", env.CatalogoCompatible, v1alpha1.AnalysisPhaseSuccessful,
			[]string{`"Pass contract catalogo`, "answered as the contract declares"}},
		{"When_V12RenamesRetypesAndDrops_Then_Failed", env.CatalogoBreaking, v1alpha1.AnalysisPhaseFailed,
			[]string{`"Fail contract catalogo`, "$.items[].name lost", "$.year changed type: number → string",
				"searchTitles (GET /search?q=mar): canary answered 404, not a status catalogo 1.1 declares",
				"getTitle (GET /titles/tt0002): canary answered 404 where the stable answered 200"}},
		{"When_CanaryDown_Then_Error", env.CatalogoDown, v1alpha1.AnalysisPhaseError, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := prepareUsage(t, *gate, aimedAt(us[0], c.canary, env.CatalogoV11), testScenario, env.JudgeURL)
			for _, i := range webMetricIndexes(p.run) {
				m, meas := measure(t, p, i)
				if meas.Phase != c.want {
					t.Fatalf("metric %s: Argo measured %s (value %s, message %q), want %s", m.Name, meas.Phase, meas.Value, meas.Message, c.want)
				}
				// Argo stores the value as Go's JSON encoding of the summary: a string, which the
				// dashboard shows as text.
				var stored string
				if c.want != v1alpha1.AnalysisPhaseError {
					if err := json.Unmarshal([]byte(meas.Value), &stored); err != nil {
						t.Fatalf("stored value %s is not the summary string: %v", meas.Value, err)
					}
				}
				for _, s := range c.inValue {
					if !strings.Contains(meas.Value, s) {
						t.Errorf("stored value does not name %q:\n%s", s, meas.Value)
					}
				}
				if c.want == v1alpha1.AnalysisPhaseError && !strings.Contains(meas.Message, "502") {
					t.Errorf("error measurement message %q, want the judge's 502 (target unavailable)", meas.Message)
				}
			}
		})
	}
}
