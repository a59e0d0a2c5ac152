package contract

// Part 2: Argo's own web metric provider (built by Argo's provider factory, as the controller
// builds it) measures each shipped metric against the running judge, which reads a real
// Prometheus loaded with scenario data. The test asserts the measurement phase Argo computes.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/metricproviders"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	k8sfake "k8s.io/client-go/kubernetes/fake"
)

// Scenario names the harness loads (see run.sh).
const (
	scHealthy    = "healthy"
	scLowData    = "low-data"
	scErrors3x   = "error-rate-3x"
	scLatencyBad = "latency-regression"
	scNoCanary   = "no-canary"
)

// measure runs Argo's provider for metric i of p once, as the controller does for a new
// measurement: args resolved, provider from the factory, Run.
func measure(t *testing.T, p prepared, i int) (v1alpha1.Metric, v1alpha1.Measurement) {
	t.Helper()
	return measureWith(t, p, i, "Web")
}

func measureWith(t *testing.T, p prepared, i int, providerType string) (v1alpha1.Metric, v1alpha1.Measurement) {
	t.Helper()
	m := p.resolvedMetric(t, i)
	factory := metricproviders.ProviderFactory{KubeClient: k8sfake.NewSimpleClientset()}
	provider, err := factory.NewProvider(logEntry(), p.run.Namespace, m)
	if err != nil {
		t.Fatalf("metric %s: Argo's provider factory: %v", m.Name, err)
	}
	if provider.Type() != providerType {
		t.Fatalf("metric %s: provider type %s, want %s", m.Name, provider.Type(), providerType)
	}
	return m, provider.Run(p.run, m)
}

// checkTypes lists the check types a web metric asks the judge for.
func checkTypes(m v1alpha1.Metric) map[string]bool {
	var body struct {
		Checks []struct {
			Type string `json:"type"`
		} `json:"checks"`
	}
	_ = json.Unmarshal(m.Provider.Web.JSONBody, &body)
	out := map[string]bool{}
	for _, c := range body.Checks {
		out[c.Type] = true
	}
	return out
}

func TestProvider_When_JudgeReadsScenarioData_Then_ArgoMeasuresTheVerdict(t *testing.T) {
	requireJudge(t)
	for _, tmpl := range judgeTemplates(t) {
		in := intentOf(t, tmpl)
		us, err := usagesOf(shipped(t), tmpl)
		if err != nil {
			t.Fatal(err)
		}
		// Every usage: the Rollout's steps pass different critical effects and counts.
		for _, u := range us {
			probe := prepareUsage(t, tmpl, u, testScenario, env.JudgeURL)
			for _, i := range webMetricIndexes(probe.run) {
				metric := probe.resolvedMetric(t, i)
				type expectation struct {
					name, scenario string
					want           v1alpha1.AnalysisPhase
				}
				cases := []expectation{
					{"When_CanaryHealthyWithEnoughData_Then_Successful", scHealthy, v1alpha1.AnalysisPhaseSuccessful},
					{"When_CanaryHealthyWithTooLittleData_Then_Inconclusive", scLowData, v1alpha1.AnalysisPhaseInconclusive},
				}
				if in == intentGuard {
					// Not enough data yet is no harm: the guard counts it as a success.
					cases[1] = expectation{"When_CanaryHealthyWithTooLittleData_Then_GuardSuccessful", scLowData, v1alpha1.AnalysisPhaseSuccessful}
				}
				for _, sc := range regressions(t, metric) {
					cases = append(cases, expectation{"When_" + sc + "_Then_Failed", sc, v1alpha1.AnalysisPhaseFailed})
				}
				for _, c := range cases {
					t.Run(tmpl.Name+"/"+u.source+"/"+metric.Name+"/"+c.name, func(t *testing.T) {
						s := requireScenario(t, c.scenario)
						// Through a recording proxy (it forwards the request unchanged: the
						// scenario's own hashes), to compare what Argo stores with the answer.
						proxy := startSequenceProxy(t, env.JudgeURL, []scenario{s})
						p := prepareUsage(t, tmpl, u, s, proxy.srv.URL)
						m, meas := measure(t, p, i)
						if meas.Phase != c.want {
							t.Fatalf("scenario %s, metric %s: Argo measured %s (value %s, message %q), want %s",
								c.scenario, m.Name, meas.Phase, meas.Value, meas.Message, c.want)
						}
						// The value Argo stores is the judge's one-line summary as a JSON string:
						// it must open with the verdict the scenario's data call for, and be the
						// judge's summary of that answer, what a person reads in the AnalysisRun.
						var stored string
						if err := json.Unmarshal([]byte(meas.Value), &stored); err != nil {
							t.Fatalf("scenario %s, metric %s: stored value %s is not a JSON string: %v", c.scenario, m.Name, meas.Value, err)
						}
						if verdict, _, _ := strings.Cut(stored, " "); verdict != s.Verdict {
							t.Errorf("scenario %s, metric %s: judge verdict %q (stored %s), want %q", c.scenario, m.Name, verdict, meas.Value, s.Verdict)
						}
						if sums := proxy.summariesSeen(); len(sums) != 1 || sums[0] == "" || stored != sums[0] {
							t.Errorf("scenario %s, metric %s: stored summary %q, want the judge's summary of its answer (answers' summaries %q)", c.scenario, m.Name, stored, sums)
						}
						if meas.FinishedAt == nil {
							t.Errorf("measurement has no finishedAt")
						}
					})
				}
			}
		}
	}
}

func TestProvider_When_JudgeCannotAnswer_Then_ArgoMeasuresError(t *testing.T) {
	// Waits on timeouts and Argo's schedule, not the CPU: runs beside the other tests.
	t.Parallel()
	requireJudge(t)
	h := requireScenario(t, scHealthy)
	for _, tmpl := range judgeTemplates(t) {
		t.Run(tmpl.Name, func(t *testing.T) {
			t.Parallel()
			probe := prepare(t, tmpl, h, "")
			for _, i := range webMetricIndexes(probe.run) {
				i := i
				name := probe.run.Spec.Metrics[i].Name
				t.Run(name+"/When_JudgeUnreachable_Then_Error", func(t *testing.T) {
					t.Parallel()
					p := prepare(t, tmpl, h, closedPortURL(t))
					_, meas := measure(t, p, i)
					wantError(t, meas, "connection refused")
				})
				t.Run(name+"/When_JudgeTimesOut_Then_Error", func(t *testing.T) {
					t.Parallel()
					p := prepare(t, tmpl, h, startSilentServer(t))
					timeout := p.run.Spec.Metrics[i].Provider.Web.TimeoutSeconds
					if timeout <= 0 {
						timeout = 10 // Argo's default
					}
					start := time.Now()
					_, meas := measure(t, p, i)
					wantError(t, meas, "Client.Timeout exceeded")
					if took := time.Since(start); took < time.Duration(timeout)*time.Second-time.Second {
						t.Errorf("measurement ended after %v, before the template's timeout of %ds", took, timeout)
					}
				})
				t.Run(name+"/When_PrometheusDownBehindJudge_Then_Error", func(t *testing.T) {
					t.Parallel()
					if env.JudgePromDownURL == "" {
						t.Fatal("CANARY_JUDGE_PROM_DOWN_URL is not set: no judge without Prometheus to test against")
					}
					p := prepare(t, tmpl, h, env.JudgePromDownURL)
					_, meas := measure(t, p, i)
					wantError(t, meas, "received non 2xx response code: 503")
				})
				// The judge bounds its own work (its analysis deadline) below the template's
				// timeoutSeconds, so a hanging Prometheus yields the judge's 504, not Argo's
				// client timeout, and the judge is free again when Argo retries.
				t.Run(name+"/When_PrometheusHangsBehindJudge_Then_JudgeAnswers504BeforeArgoTimesOut", func(t *testing.T) {
					t.Parallel()
					if env.JudgePromHangURL == "" {
						t.Fatal("CANARY_JUDGE_PROM_HANG_URL is not set: no judge with a hanging Prometheus to test against")
					}
					p := prepare(t, tmpl, h, env.JudgePromHangURL)
					timeout := time.Duration(p.run.Spec.Metrics[i].Provider.Web.TimeoutSeconds) * time.Second
					start := time.Now()
					_, meas := measure(t, p, i)
					wantError(t, meas, "received non 2xx response code: 504")
					if took := time.Since(start); timeout > 0 && took >= timeout {
						t.Errorf("the judge took %v, not under the template's timeoutSeconds (%v)", took, timeout)
					}
				})
				t.Run(name+"/When_SecretTokenWrong_Then_Error", func(t *testing.T) {
					t.Parallel()
					if env.Token == "" || len(secretArgs(probe.run)) == 0 {
						t.Fatalf("no bearer token in play (CANARY_JUDGE_TOKEN %q, secret args %d): the judge's auth is untested", env.Token, len(secretArgs(probe.run)))
					}
					p := prepare(t, tmpl, h, env.JudgeURL)
					for name, data := range p.secretData {
						for k := range data {
							p.secretData[name][k] = "not-the-token"
						}
					}
					_, meas := measure(t, p, i)
					wantError(t, meas, "received non 2xx response code: 401")
				})
			}
		})
	}
}

// A malformed hash reaches the judge (JSON-escaped, see the template tests) and the judge
// answers 400 naming the field. Argo's web provider (v1.9 and v1.10) reports a non-2xx answer as
// "received non 2xx response code: 400" and does not read the body, so the judge's own message
// cannot reach the measurement message; the test pins both halves: Argo's Error measurement,
// and the judge's message for the very request Argo sent.
func TestProvider_When_HashArgMalformed_Then_JudgeAnswers400_And_ArgoMeasuresError(t *testing.T) {
	requireJudge(t)
	s := requireScenario(t, scHealthy)
	s.CanaryHash = `abc"} or vector(1) #`
	for _, tmpl := range judgeTemplates(t) {
		t.Run(tmpl.Name, func(t *testing.T) {
			p := prepare(t, tmpl, s, env.JudgeURL)
			for _, i := range webMetricIndexes(p.run) {
				m, meas := measure(t, p, i)
				var body map[string]any
				_ = json.Unmarshal(m.Provider.Web.JSONBody, &body)
				if sel, _ := body["selector"].(map[string]any); sel["mode"] != "pod-hash" {
					t.Fatalf("metric %s: selector %v is not pod-hash: no hash arg to break", m.Name, body["selector"])
				}
				wantError(t, meas, "received non 2xx response code: 400")

				status, answer := replay(t, m)
				if status != http.StatusBadRequest {
					t.Fatalf("judge answered %d to the request Argo sent, want 400: %s", status, answer)
				}
				var e struct {
					Error struct {
						Code    string `json:"code"`
						Message string `json:"message"`
						Field   string `json:"field"`
					} `json:"error"`
				}
				if err := json.Unmarshal(answer, &e); err != nil || e.Error.Code != "invalid_request" || e.Error.Message == "" {
					t.Fatalf("judge's 400 answer is not the contract's error object: %s", answer)
				}
				if !strings.Contains(e.Error.Field+" "+e.Error.Message, "selector") {
					t.Errorf("judge's 400 does not name the selector field: %s", answer)
				}
				t.Logf("metric %s: Argo's measurement message %q; the judge's message (not shown by Argo %s): %q (field %q)",
					m.Name, meas.Message, os.Getenv("CONTRACT_ARGO_VERSION"), e.Error.Message, e.Error.Field)
			}
		})
	}
}

// replay sends the request Argo's provider sends for m (method, URL, headers, jsonBody) and
// returns the judge's status and body.
func replay(t *testing.T, m v1alpha1.Metric) (int, []byte) {
	t.Helper()
	web := m.Provider.Web
	req, err := http.NewRequest(string(web.Method), web.URL, bytes.NewReader(web.JSONBody))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range web.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func wantError(t *testing.T, meas v1alpha1.Measurement, msg string) {
	t.Helper()
	if meas.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("Argo measured %s (value %q, message %q), want Error", meas.Phase, meas.Value, meas.Message)
	}
	if !strings.Contains(meas.Message, msg) {
		t.Errorf("measurement message %q does not contain %q", meas.Message, msg)
	}
}
