package contract

// The fallback template (Argo's built-in Prometheus provider, for clusters without the judge)
// measured by Argo's own Prometheus provider against the scenario Prometheus. Its header
// promises: a clear regression fails, and no data (no canary series) is Inconclusive, never a
// pass. Like the judge, it must not read a neighbour's series as the canary's: the harness puts
// a Rollout named `catalogo-<canary hash>`, failing half its requests, beside an idle canary.
// It is a fixed-threshold rule on the last 5 minutes, so a healthy canary at 1% errors against
// a 1% threshold is a coin toss: not asserted.

import (
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

func TestFallback_When_ArgoQueriesPrometheus_Then_RegressionFailsAndNoDataIsInconclusive(t *testing.T) {
	if env.PrometheusURL == "" {
		t.Fatal("CONTRACT_PROMETHEUS_URL is not set: no scenario Prometheus to test against (run test/argo/run.sh)")
	}
	var fallbacks []shippedTemplate
	for _, tmpl := range shipped(t).templates {
		if intentOf(t, tmpl) == intentNotJudge {
			fallbacks = append(fallbacks, tmpl)
		}
	}
	if len(fallbacks) == 0 {
		t.Fatal("no non-judge template ships: drop this test with the fallback")
	}
	for _, tmpl := range fallbacks {
		for _, c := range []struct {
			name, scenario string
			want           v1alpha1.AnalysisPhase
		}{
			{"When_CanaryHas3xErrors_Then_Failed", scErrors3x, v1alpha1.AnalysisPhaseFailed},
			{"When_CanaryGetsNoRequests_Then_Inconclusive", "no-canary-alone", v1alpha1.AnalysisPhaseInconclusive},
			{"When_IdleCanaryBesideAFailingRolloutNamedRolloutDashHash_Then_Inconclusive", scNoCanary, v1alpha1.AnalysisPhaseInconclusive},
		} {
			t.Run(tmpl.Name+"/"+c.name, func(t *testing.T) {
				s := requireScenario(t, c.scenario)
				// The query looks at the last 5 minutes.
				if age := time.Since(time.Unix(s.DataEnd, 0)); age > 4*time.Minute {
					t.Fatalf("scenario data ended %v ago: too old for a 5-minute rate; run the tests right after loading it", age.Round(time.Second))
				}
				us, err := usagesOf(shipped(t), tmpl)
				if err != nil {
					t.Fatal(err)
				}
				u := us[0]
				u.args = append(append([]v1alpha1.AnalysisRunArgument(nil), u.args...),
					v1alpha1.AnalysisRunArgument{Name: "prometheus-address", Value: env.PrometheusURL})
				p := prepareUsage(t, tmpl, u, s, "")
				for i, metric := range p.run.Spec.Metrics {
					if metric.Provider.Prometheus == nil {
						t.Fatalf("metric %s: not a Prometheus metric", metric.Name)
					}
					m, meas := measureWith(t, p, i, "Prometheus")
					if meas.Phase != c.want {
						t.Errorf("scenario %s, metric %s: Argo measured %s (value %s, message %q), want %s; query:\n%s",
							c.scenario, m.Name, meas.Phase, meas.Value, meas.Message, c.want, m.Provider.Prometheus.Query)
					}
				}
			})
		}
	}
}
