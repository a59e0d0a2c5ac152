package contract

// Part 3: Argo's own analysis controller (package analysis, NewController/Run, with fake
// Kubernetes and Argo clientsets in place of an API server) reconciles an AnalysisRun built
// from a shipped template. It resolves the args (reading the token from a Secret object),
// builds Argo's web provider, calls the judge at every interval, counts the measurements and
// assesses the metric with its own rules (count, failureLimit, inconclusiveLimit,
// consecutiveSuccessLimit). A per-metric sequence proxy chooses which recorded canary each
// request names, so the judge's real verdicts follow a script.
//
// Time: the controller schedules measurements with Argo's clock (utils/time), which the tests
// run clockFactor times faster, so the shipped interval passes in well under a second of wall
// time. Informer resyncs (every second, client-go's minimum) wake the controller; each wake-up
// takes at most one measurement per metric. Runs are independent (own clientsets, informers,
// controller, proxies) and run in parallel.

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/analysis"
	"github.com/argoproj/argo-rollouts/controller/metrics"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/pkg/client/clientset/versioned/fake"
	informers "github.com/argoproj/argo-rollouts/pkg/client/informers/externalversions"
	"github.com/argoproj/argo-rollouts/utils/queue"
	"github.com/argoproj/argo-rollouts/utils/record"
	timeutil "github.com/argoproj/argo-rollouts/utils/time"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubeinformers "k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/util/workqueue"
)

// clockFactor is how much faster than the wall clock Argo's clock runs in these tests (set in
// TestMain for the whole binary): the shipped 1m interval passes in 0.5 s, Argo's 10 s retry
// after an Error in 83 ms. Measurement timestamps are in that clock too; nothing else here
// reads it.
const clockFactor = 120

// startFastClock makes Argo's clock (utils/time) run clockFactor times faster from now on.
func startFastClock() {
	base := time.Now()
	timeutil.SetNowTimeFunc(func() time.Time {
		return base.Add(time.Duration(float64(time.Since(base)) * clockFactor))
	})
}

// runController reconciles run with Argo's analysis controller until it completes or the
// deadline passes, and returns its last state.
// With terminateAfter > 0, the run is told to terminate (spec.terminate, as the Rollout
// controller does when the Rollout completes) once every metric has that many measurements.
func runController(t *testing.T, p prepared, terminateAfter int, deadline time.Duration) *v1alpha1.AnalysisRun {
	t.Helper()

	run := p.run.DeepCopy()
	run.Namespace = p.rollout.Namespace
	run.CreationTimestamp = metav1.NewTime(timeutil.Now())
	objs := []runtime.Object{}
	for _, s := range p.secrets() {
		s.Namespace = run.Namespace
		objs = append(objs, s)
	}
	kube := k8sfake.NewSimpleClientset(objs...)
	argo := fake.NewSimpleClientset(run)

	const resync = time.Second
	wq := workqueue.NewNamedRateLimitingQueue(queue.DefaultArgoRolloutsRateLimiter(), "AnalysisRuns")
	ai := informers.NewSharedInformerFactory(argo, resync)
	ki := kubeinformers.NewSharedInformerFactory(kube, resync)
	cfg := analysis.ControllerConfig{
		KubeClientSet:        kube,
		ArgoProjClientset:    argo,
		AnalysisRunInformer:  ai.Argoproj().V1alpha1().AnalysisRuns(),
		JobInformer:          ki.Batch().V1().Jobs(),
		ResyncPeriod:         resync,
		AnalysisRunWorkQueue: wq,
		MetricsServer: metrics.NewMetricsServer(metrics.ServerConfig{
			Addr:               "127.0.0.1:0",
			K8SRequestProvider: &metrics.K8sRequestsCountProvider{},
		}),
		Recorder: record.NewFakeEventRecorder(),
	}
	// v1.10 reads the pods of Job metrics through a JobPodsInformer the config must carry (nil
	// panics in NewController); v1.9 has no such field. One source for both module files: set it
	// by name when the pinned release has it.
	if f := reflect.ValueOf(&cfg).Elem().FieldByName("JobPodsInformer"); f.IsValid() {
		f.Set(reflect.ValueOf(ki.Core().V1().Pods()))
	}
	ctrl := analysis.NewController(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ai.Start(ctx.Done())
	ki.Start(ctx.Done())
	ai.WaitForCacheSync(ctx.Done())
	ki.WaitForCacheSync(ctx.Done())
	done := make(chan struct{})
	go func() {
		_ = ctrl.Run(ctx, 1)
		close(done)
	}()
	defer func() {
		// As the controller's main does: cancel, then shut the queue down so workers return.
		cancel()
		wq.ShutDown()
		<-done
		ai.Shutdown()
		ki.Shutdown()
	}()

	var last *v1alpha1.AnalysisRun
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		got, err := argo.ArgoprojV1alpha1().AnalysisRuns(run.Namespace).Get(context.Background(), run.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		last = got
		if got.Status.Phase.Completed() {
			return got
		}
		if terminateAfter > 0 && !got.Spec.Terminate && allCounted(got, terminateAfter) {
			if got.Status.Phase != v1alpha1.AnalysisPhaseRunning {
				t.Fatalf("run is %s before termination: %s", got.Status.Phase, summarize(got))
			}
			_, err := argo.ArgoprojV1alpha1().AnalysisRuns(run.Namespace).Patch(context.Background(), run.Name,
				types.MergePatchType, []byte(`{"spec":{"terminate":true}}`), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("AnalysisRun still %q after %v: %s", last.Status.Phase, deadline, summarize(last))
	return nil
}

func allCounted(run *v1alpha1.AnalysisRun, n int) bool {
	if len(run.Status.MetricResults) < len(run.Spec.Metrics) {
		return false
	}
	for _, r := range run.Status.MetricResults {
		if int(r.Count) < n {
			return false
		}
	}
	return true
}

func summarize(run *v1alpha1.AnalysisRun) string {
	s := fmt.Sprintf("run %s (%s)", run.Status.Phase, run.Status.Message)
	for _, r := range run.Status.MetricResults {
		s += fmt.Sprintf("; metric %s %s count=%d successful=%d failed=%d inconclusive=%d error=%d [",
			r.Name, r.Phase, r.Count, r.Successful, r.Failed, r.Inconclusive, r.Error)
		last := ""
		for _, m := range r.Measurements {
			verdict, summary := decodeStored(m.Value)
			s += fmt.Sprintf(" %s(%s%s)", m.Phase, verdict, m.Message)
			last = summary
		}
		s += " ]"
		if last != "" {
			s += " last summary: " + last
		}
	}
	return s
}

// decodeStored splits a stored measurement value, the judge's summary as a JSON string,
// into its verdict and summary, so a run's summary stays one verdict per measurement; a value
// of another shape is returned whole as the verdict.
func decodeStored(value string) (verdict, summary string) {
	// The templates store the judge's summary, a JSON string opening with the verdict.
	var text string
	if json.Unmarshal([]byte(value), &text) != nil {
		return value, ""
	}
	verdict, _, _ = strings.Cut(text, " ")
	return verdict, text
}

func metricResult(run *v1alpha1.AnalysisRun, name string) *v1alpha1.MetricResult {
	for i := range run.Status.MetricResults {
		if run.Status.MetricResults[i].Name == name {
			return &run.Status.MetricResults[i]
		}
	}
	return nil
}

// sequenceCase is a script of scenarios (one per measurement, per metric) and the outcome
// Argo should reach.
type sequenceCase struct {
	name   string
	script func(m v1alpha1.Metric) []string
	want   v1alpha1.AnalysisPhase
	// measurements per metric at which the metric must end (0: the metric's count).
	endsAt int
	// terminate the run (as the Rollout does when it completes) once every metric has this
	// many measurements; for metrics without a count.
	terminateAfter int
}

func sequenceCases(in intent, regression func(v1alpha1.Metric) string) []sequenceCase {
	switch in {
	case intentGate:
		return []sequenceCase{
			{
				name:   "When_DataGrowsEnoughAndCanaryHealthy_Then_SuccessfulAtTheFirstPass",
				script: func(v1alpha1.Metric) []string { return []string{scLowData, scLowData, scHealthy} },
				want:   v1alpha1.AnalysisPhaseSuccessful,
				endsAt: 3,
			},
			{
				name:   "When_CanaryRegresses_Then_FailedAtTheFirstFail",
				script: func(m v1alpha1.Metric) []string { return []string{scLowData, regression(m), scHealthy} },
				want:   v1alpha1.AnalysisPhaseFailed,
				endsAt: 2,
			},
			{
				name:   "When_DataNeverSuffices_Then_InconclusiveWhenCountRunsOut",
				script: func(v1alpha1.Metric) []string { return []string{scLowData} },
				want:   v1alpha1.AnalysisPhaseInconclusive,
			},
		}
	case intentGuard:
		return []sequenceCase{
			{
				name:           "When_PassesAndNotEnoughData_Then_KeepsWatchingUntilTheRolloutEnds",
				script:         func(v1alpha1.Metric) []string { return []string{scLowData, scLowData, scHealthy, scLowData, scHealthy} },
				want:           v1alpha1.AnalysisPhaseSuccessful,
				terminateAfter: 5,
			},
			{
				name:   "When_CanaryRegresses_Then_FailedAtTheFirstFail",
				script: func(m v1alpha1.Metric) []string { return []string{scLowData, scHealthy, regression(m), scHealthy} },
				want:   v1alpha1.AnalysisPhaseFailed,
				endsAt: 3,
			},
		}
	}
	return nil
}

func TestAssessment_When_MeasurementsFollowAScript_Then_ArgoEndsTheRunAsIntended(t *testing.T) {
	// Waits on timeouts and Argo's schedule, not the CPU: runs beside the other tests.
	t.Parallel()
	requireJudge(t)
	for _, tmpl := range judgeTemplates(t) {
		in := intentOf(t, tmpl)
		probe := prepare(t, tmpl, testScenario, env.JudgeURL)
		// Every regression any metric of the template must catch, each in its own run; a
		// metric that does not check that kind of regression meets its own first one.
		var regs []string
		seen := map[string]bool{}
		for _, i := range webMetricIndexes(probe.run) {
			for _, r := range regressions(t, probe.resolvedMetric(t, i)) {
				if !seen[r] {
					seen[r] = true
					regs = append(regs, r)
				}
			}
		}
		for k, reg := range regs {
			regression := func(m v1alpha1.Metric) string {
				own := regressions(t, m)
				for _, r := range own {
					if r == reg {
						return r
					}
				}
				return own[0]
			}
			for _, c := range sequenceCases(in, regression) {
				name := tmpl.Name + "/" + c.name
				if c.want == v1alpha1.AnalysisPhaseFailed {
					name += "/" + reg
				} else if k > 0 {
					continue // scripts without a regression run once
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					runSequence(t, tmpl, c)
				})
			}
		}
	}
}

func runSequence(t *testing.T, tmpl shippedTemplate, c sequenceCase) {
	p := prepare(t, tmpl, requireScenario(t, scHealthy), env.JudgeURL)
	proxies := map[string]*sequenceProxy{}
	wantEnd := map[string]int{}
	for _, i := range webMetricIndexes(p.run) {
		m := p.resolvedMetric(t, i)
		var script []scenario
		for _, name := range c.script(m) {
			script = append(script, requireScenario(t, name))
		}
		proxy := startSequenceProxy(t, env.JudgeURL, script)
		proxies[m.Name] = proxy
		p.run.Spec.Metrics[i].Provider.Web.URL = proxy.srv.URL + analysesPath
		switch {
		case c.terminateAfter > 0:
			wantEnd[m.Name] = c.terminateAfter
		case c.endsAt > 0:
			wantEnd[m.Name] = c.endsAt
		default:
			if m.Count == nil || m.Count.IntValue() <= 0 {
				t.Fatalf("metric %s has no count: an undecided canary would be measured forever instead of ending Inconclusive", m.Name)
			}
			wantEnd[m.Name] = m.Count.IntValue()
		}
	}
	longest := 0
	for _, n := range wantEnd {
		longest = max(longest, n)
	}
	final := runController(t, p, c.terminateAfter, time.Duration(longest)*2*time.Second+20*time.Second)
	if final.Status.Phase != c.want {
		t.Fatalf("Argo ended the run %s, want %s: %s", final.Status.Phase, c.want, summarize(final))
	}
	for name, proxy := range proxies {
		r := metricResult(final, name)
		if r == nil {
			t.Fatalf("no result for metric %s: %s", name, summarize(final))
		}
		verdicts, statuses := proxy.seen()
		if r.Phase != c.want {
			t.Errorf("metric %s ended %s, want %s (judge verdicts %v)", name, r.Phase, c.want, verdicts)
		}
		n := int(r.Count)
		if c.terminateAfter > 0 {
			// The run was ended from outside: it may have squeezed in one more measurement.
			if n < c.terminateAfter || n > c.terminateAfter+1 || r.Successful != r.Count {
				t.Errorf("metric %s: %d measurements (%d successful), want %d successful before termination: %s", name, n, r.Successful, c.terminateAfter, summarize(final))
			}
		} else if n != wantEnd[name] || len(verdicts) < wantEnd[name] || len(verdicts) > wantEnd[name]+1 {
			// Argo must count exactly the measurements the run allows. The judge may see one call
			// more: on a loaded machine the controller can lose the status write of a measurement
			// (update conflict) and take it again; the judge is stateless, so that costs nothing.
			t.Errorf("metric %s ended after %d counted measurements (%d judge answers %v, statuses %v), want %d: %s",
				name, n, len(verdicts), verdicts, statuses, wantEnd[name], summarize(final))
		}
		if r.Error != 0 {
			t.Errorf("metric %s had %d Error measurements: %s", name, r.Error, summarize(final))
		}
	}
	t.Logf("%s", summarize(final))
}

// With the judge down for longer than consecutiveErrorLimit tries, Argo's controller ends the
// run in Error (the Rollout then aborts). Measured against a closed port; errors are retried
// every 10 s of Argo's clock.
func TestAssessment_When_JudgeStaysUnreachable_Then_RunEndsInError(t *testing.T) {
	// Waits on timeouts and Argo's schedule, not the CPU: runs beside the other tests.
	t.Parallel()
	for _, tmpl := range judgeTemplates(t) {
		t.Run(tmpl.Name, func(t *testing.T) {
			t.Parallel()
			p := prepare(t, tmpl, testScenario, closedPortURL(t))
			final := runController(t, p, 0, 60*time.Second)
			if final.Status.Phase != v1alpha1.AnalysisPhaseError {
				t.Fatalf("Argo ended the run %s, want Error: %s", final.Status.Phase, summarize(final))
			}
			for _, i := range webMetricIndexes(p.run) {
				m := p.resolvedMetric(t, i)
				r := metricResult(final, m.Name)
				if r == nil || r.Phase != v1alpha1.AnalysisPhaseError {
					continue // another metric may have tripped its limit first and ended the run
				}
				limit := int32(4)
				if m.ConsecutiveErrorLimit != nil {
					limit = int32(m.ConsecutiveErrorLimit.IntValue())
				}
				if r.ConsecutiveError != limit+1 || r.Count != 0 {
					t.Errorf("metric %s: consecutiveError %d (count %d), want %d errors and no counted measurement", m.Name, r.ConsecutiveError, r.Count, limit+1)
				}
			}
		})
	}
}
