package contract

// The ratio check's placeholder against Argo's own argument resolution: Argo resolves every
// {{…}} of a metric (the web provider's jsonBody as much as the plugin's config) and fails the
// measurement on a tag it does not know, so the judge's placeholder is `$selector`, which Argo
// leaves as written while it substitutes the args around it.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	"k8s.io/utils/ptr"
)

func ratioMetric(bad string) v1alpha1.Metric {
	body := `{"rollout":{"name":"catalogo","namespace":"catalogo"},` +
		`"selector":{"mode":"pod-hash","canary":"{{args.canary-hash}}","stable":"{{args.stable-hash}}"},` +
		`"checks":[{"type":"ratio","bad":` + mustJSONString(bad) + `,"total":"catalogo_searches_total{$selector}"}]}`
	return v1alpha1.Metric{
		Name: "empty-searches",
		Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
			URL:      "http://canary-judge.canary-judge.svc:8080/api/v1/analyses",
			Method:   v1alpha1.WebMetricMethodPost,
			JSONBody: json.RawMessage(body),
		}},
	}
}

func mustJSONString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var ratioArgs = []v1alpha1.Argument{
	{Name: "canary-hash", Value: ptr.To("6d4f8b9c7x")},
	{Name: "stable-hash", Value: ptr.To("58c7d6f9b4")},
}

func TestRatio_When_ArgoResolvesDollarSelector_Then_ItArrivesAsWritten(t *testing.T) {
	bad := `catalogo_searches_total{result="empty", $selector}`
	m, err := analysisutil.ResolveMetricArgs(ratioMetric(bad), ratioArgs)
	if err != nil {
		t.Fatalf("ResolveMetricArgs: %v", err)
	}
	var body struct {
		Selector map[string]string   `json:"selector"`
		Checks   []map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(m.Provider.Web.JSONBody, &body); err != nil {
		t.Fatalf("jsonBody is not JSON after resolution: %v", err)
	}
	if body.Selector["canary"] != "6d4f8b9c7x" {
		t.Errorf("the args around it are not substituted: canary %q", body.Selector["canary"])
	}
	if got := body.Checks[0]["bad"]; got != bad {
		t.Errorf("bad arrives as %q, want %q", got, bad)
	}
}

func TestRatio_When_TheExpressionUsesBraces_Then_ArgoRefusesTheMetric(t *testing.T) {
	for _, bad := range []string{
		`catalogo_searches_total{result="empty", {{selector}}}`,
		`catalogo_searches_total{{{selector}}}`,
	} {
		_, err := analysisutil.ResolveMetricArgs(ratioMetric(bad), ratioArgs)
		if err == nil || !strings.Contains(err.Error(), "failed to resolve") {
			t.Errorf("%s: want Argo's \"failed to resolve\", got %v", bad, err)
		}
	}
}
