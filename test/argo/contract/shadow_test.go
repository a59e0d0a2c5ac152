package contract

// Shadow mode (rollouts/catalogo-shadow, rendered by the pinned kustomize): the first traffic
// analysis step's AnalysisRun, built by Argo's own code from the rendered Rollout (both templates, its
// dryRun and measurementRetention), run by Argo's analysis controller against the real judge
// and the scenario Prometheus. Where the judge says Fail and the Prometheus template passes,
// the run must end Successful — the phase the Rollout controller acts on, so no abort — with the
// judge's Fail kept in the dry-run metric. The same run with the dryRun rules removed (the judge
// deciding, as in rollouts/catalogo) must end Failed: that is what dry run changes.

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	analysisutil "github.com/argoproj/argo-rollouts/utils/analysis"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// shadowRollout renders rollouts/catalogo-shadow with the pinned kustomize and returns its Rollout.
func shadowRollout(t *testing.T) *v1alpha1.Rollout {
	t.Helper()
	repo := filepath.Dir(env.RolloutsDir)
	dir, err := exec.Command("bash", filepath.Join(repo, "scripts", "kustomize.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/kustomize.sh: %v", err)
	}
	out, err := exec.Command(filepath.Join(strings.TrimSpace(string(dir)), "kustomize"), "build",
		filepath.Join(env.RolloutsDir, "catalogo-shadow")).Output()
	if err != nil {
		t.Fatalf("kustomize build rollouts/catalogo-shadow: %v", err)
	}
	docs, err := yamlDocs(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		var tm metav1.TypeMeta
		if json.Unmarshal(d, &tm) != nil || tm.Kind != "Rollout" {
			continue
		}
		var r v1alpha1.Rollout
		if err := strictDecode(d, &r); err != nil {
			t.Fatalf("rendered Rollout: %v", err)
		}
		return &r
	}
	t.Fatal("kustomize build rollouts/catalogo-shadow holds no Rollout")
	return nil
}

// shadowRun prepares the AnalysisRun of the Rollout's first analysis step with traffic (after
// the contract gate) for scenario sc:
// judge metrics aimed at the judge under test, the Prometheus template at the scenario
// Prometheus with its threshold at maxErrorRate.
func shadowRun(t *testing.T, sc scenario, maxErrorRate string) prepared {
	t.Helper()
	ro := shadowRollout(t)
	ro.Namespace = sc.Namespace
	var step *v1alpha1.RolloutAnalysis
	for _, s := range ro.Spec.Strategy.Canary.Steps {
		if s.Analysis != nil && !isContractGate(s.Analysis) {
			step = s.Analysis
			break
		}
	}
	if step == nil {
		t.Fatal("the shadow Rollout has no analysis step")
	}
	var clusters []*v1alpha1.ClusterAnalysisTemplate
	for _, ref := range step.Templates {
		found := false
		for _, tmpl := range shipped(t).templates {
			if tmpl.Name == ref.TemplateName && tmpl.cluster != nil && ref.IsClusterScope() {
				clusters = append(clusters, tmpl.cluster.DeepCopy())
				found = true
			}
		}
		if !found {
			t.Fatalf("no shipped ClusterAnalysisTemplate %s", ref.TemplateName)
		}
	}
	rolloutArgs := append(append([]v1alpha1.AnalysisRunArgument(nil), step.Args...),
		v1alpha1.AnalysisRunArgument{Name: "prometheus-address", Value: env.PrometheusURL},
		v1alpha1.AnalysisRunArgument{Name: "max-error-rate", Value: maxErrorRate})
	args, err := analysisutil.BuildArgumentsForRolloutAnalysisRun(rolloutArgs,
		replicaSet(ro.Name, sc.StableHash), replicaSet(ro.Name, sc.CanaryHash), ro)
	if err != nil {
		t.Fatal(err)
	}
	run, err := analysisutil.NewAnalysisRunFromTemplates(nil, clusters, args, step.DryRun, step.MeasurementRetention,
		nil, nil, ro.Name+"-"+sc.CanaryHash+"-shadow", "", ro.Namespace)
	if err != nil {
		t.Fatalf("Argo refused the shadow step's templates: %v", err)
	}
	p := prepared{rollout: ro, argsSource: "rollouts/catalogo-shadow step analysis", run: run,
		secretData: map[string]map[string]string{}}
	for _, a := range secretArgs(run) {
		ref := a.ValueFrom.SecretKeyRef
		if p.secretData[ref.Name] == nil {
			p.secretData[ref.Name] = map[string]string{}
		}
		p.secretData[ref.Name][ref.Key] = env.Token // the judge's bearer token, as in prepareUsage
	}
	for i := range run.Spec.Metrics {
		if web := run.Spec.Metrics[i].Provider.Web; web != nil {
			web.URL = strings.TrimRight(env.JudgeURL, "/") + analysesPath
		}
	}
	return p
}

func TestShadow_When_JudgeFailsInDryRun_Then_RunSucceedsOnThePrometheusTemplateAndKeepsTheFail(t *testing.T) {
	t.Parallel()
	requireJudge(t)
	if env.PrometheusURL == "" {
		t.Fatal("CONTRACT_PROMETHEUS_URL is not set: no scenario Prometheus to test against (run test/argo/run.sh)")
	}
	sc := requireScenario(t, scErrors3x)
	if age := time.Since(time.Unix(sc.DataEnd, 0)); age > 4*time.Minute {
		t.Fatalf("scenario data ended %v ago: too old for the Prometheus template's 5-minute rate", age.Round(time.Second))
	}
	// The canary fails about 3% of its requests: beyond the judge's tolerance at this step,
	// below a 5% threshold — the disagreement shadow mode is there to record.
	p := shadowRun(t, sc, "0.05")
	dry := map[string]bool{}
	for _, d := range p.run.Spec.DryRun {
		dry[d.MetricName] = true
	}
	judgeMetric, promMetric := "", ""
	for _, m := range p.run.Spec.Metrics {
		switch {
		case m.Provider.Web != nil:
			judgeMetric = m.Name
		case m.Provider.Prometheus != nil:
			promMetric = m.Name
		}
	}
	if judgeMetric == "" || promMetric == "" || !dry[judgeMetric] || dry[promMetric] {
		t.Fatalf("want a judge metric in dry run and a Prometheus metric deciding; metrics %v, dryRun %v", p.run.Spec.Metrics, p.run.Spec.DryRun)
	}

	final := runController(t, p, 0, 60*time.Second)
	if final.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("run ended %s, want Successful (the judge's Fail is a dry run): %s", final.Status.Phase, summarize(final))
	}
	judge := metricResult(final, judgeMetric)
	if judge == nil || !judge.DryRun || judge.Phase != v1alpha1.AnalysisPhaseFailed || len(judge.Measurements) == 0 {
		t.Fatalf("judge metric %s: want a dry-run Failed result with its measurements: %s", judgeMetric, summarize(final))
	}
	verdict, summary := decodeStored(judge.Measurements[len(judge.Measurements)-1].Value)
	if verdict != "Fail" || !strings.HasPrefix(summary, "Fail error-rate") {
		t.Errorf("recorded judge measurement: verdict %q, summary %q; want the judge's Fail on the error rate", verdict, summary)
	}
	if prom := metricResult(final, promMetric); prom == nil || prom.DryRun || prom.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("Prometheus metric %s: want it deciding and Successful: %s", promMetric, summarize(final))
	}
	if s := final.Status.DryRunSummary; s == nil || s.Count != 1 || s.Failed != 1 {
		t.Errorf("dryRunSummary %+v, want the one dry-run metric counted Failed", s)
	}
	if s := final.Status.RunSummary; s.Count != 1 || s.Successful != 1 || s.Failed != 0 {
		t.Errorf("runSummary %+v, want the one deciding metric counted Successful", s)
	}
	t.Logf("%s", summarize(final))

	// Control: the same run without its dryRun rules, the judge deciding.
	p = shadowRun(t, sc, "0.05")
	p.run.Spec.DryRun = nil
	p.run.Name += "-control"
	if control := runController(t, p, 0, 60*time.Second); control.Status.Phase != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("without dry run the run ended %s, want Failed: %s", control.Status.Phase, summarize(control))
	}
}
