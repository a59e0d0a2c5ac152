package provider

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

func run() *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{
		Name: "catalogo-6b7f9c8d5-2-1", Namespace: "shop",
		Labels: map[string]string{podTemplateHashLabel: "6b7f9c8d5"},
		OwnerReferences: []metav1.OwnerReference{
			{Kind: "Experiment", Name: "not-this", Controller: ptr.To(false)},
			{Kind: "Rollout", Name: "catalogo", Controller: ptr.To(true)},
		},
	}}
}

func TestWhenArgsArriveAsStringsThenTheyAreNumbers(t *testing.T) {
	c, err := ParseConfig(json.RawMessage(`{"selector":{"stable":"5d4c7b9f8"},"failBelow":"80","checks":[
		{"type":"error-rate","alpha":"0.01","margin":"","critical":"true","criticalEffect":2},
		{"type":"latency","quantile":"0.99"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req, err := buildRequest(c, run())
	if err != nil {
		t.Fatal(err)
	}
	if req.GetRollout().GetName() != "catalogo" || req.GetRollout().GetNamespace() != "shop" {
		t.Errorf("rollout %v, want shop/catalogo from the AnalysisRun", req.GetRollout())
	}
	if ph := req.GetSelector().GetPodHash(); ph.GetCanary() != "6b7f9c8d5" || ph.GetStable() != "5d4c7b9f8" {
		t.Errorf("selector %v", req.GetSelector())
	}
	er := req.GetChecks()[0]
	if er.Alpha == nil || *er.Alpha != 0.01 || er.Margin != nil || er.Critical == nil || !*er.Critical || er.GetCriticalEffect() != 2 {
		t.Errorf("error-rate check %v: want alpha 0.01, no margin (empty = judge default), critical, effect 2", er)
	}
	if req.GetChecks()[1].GetLatency().GetQuantile() != 0.99 || req.GetFailBelow() != 80 {
		t.Errorf("latency %v, failBelow %v", req.GetChecks()[1], req.GetFailBelow())
	}
}

func TestWhenTheConfigIsWrongThenParseSaysWhere(t *testing.T) {
	for raw, want := range map[string]string{
		``:                                "no plugin configuration",
		`{"checks":[]}`:                   "at least one check",
		`{"checks":[{"type":"errors"}]}`:  `checks[0].type: "errors"`,
		`{"checks":[{"type":"latency"}]}`: "exactly one of quantile and thresholdMs",
		`{"checks":[{"type":"error-rate","alpha":"x"}]}`:                `"x" is not a number`,
		`{"checks":[{"type":"error-rate","critical":"yes"}]}`:           `"yes" is not true or false`,
		`{"timeout":"soon","checks":[{"type":"error-rate"}]}`:           "timeout",
		`{"selector":{"mode":"pods"},"checks":[{"type":"error-rate"}]}`: "selector.mode",
	} {
		_, err := ParseConfig(json.RawMessage(raw))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %s: error %v, want one saying %q", raw, err, want)
		}
	}
}

func TestWhenNoRolloutOwnsTheRunThenTheRequestIsRefused(t *testing.T) {
	r := run()
	r.OwnerReferences = nil
	c, _ := ParseConfig(json.RawMessage(`{"selector":{"stable":"a"},"checks":[{"type":"error-rate"}]}`))
	if _, err := buildRequest(c, r); err == nil || !strings.Contains(err.Error(), "rollout.name") {
		t.Errorf("error %v, want one asking for rollout.name", err)
	}
}

func TestVerdictsMapToPhasesWithoutConditions(t *testing.T) {
	for v, want := range map[judgev1.Verdict]v1alpha1.AnalysisPhase{
		judgev1.Verdict_VERDICT_PASS:         v1alpha1.AnalysisPhaseSuccessful,
		judgev1.Verdict_VERDICT_FAIL:         v1alpha1.AnalysisPhaseFailed,
		judgev1.Verdict_VERDICT_INCONCLUSIVE: v1alpha1.AnalysisPhaseInconclusive,
		judgev1.Verdict_VERDICT_UNSPECIFIED:  v1alpha1.AnalysisPhaseError,
	} {
		got, _ := phaseOf(&judgev1.AnalyzeResponse{Verdict: v}, v1alpha1.Metric{})
		if got != want {
			t.Errorf("%v → %s, want %s", v, got, want)
		}
	}
}

func TestATemplateCannotSendTheTokenElsewhere(t *testing.T) {
	o, err := ParseFlags([]string{"--address=judge:9090", "--allow-address=other:9090,third:9090"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"judge:9090": true, "other:9090": true, "third:9090": true, "evil:9090": false} {
		if o.allows(addr) != want {
			t.Errorf("allows(%s) = %v", addr, !want)
		}
	}
	if _, err := ParseFlags([]string{"--token-file=/a", "--token-env=B", "--address=nohost"}); err == nil ||
		!strings.Contains(err.Error(), "exclusive") || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("flags error %v, want both problems", err)
	}
}
