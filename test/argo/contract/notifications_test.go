package contract

// The notification contract: the shipped argo-rollouts-notification-configmap
// (rollouts/notifications), loaded by the notifications engine the way Argo's controller loads
// it (api.NewFactory with Argo's own settings, record.NewAPIFactorySettings, which hand the
// templates the Rollout and the AnalysisRuns of its current release), fired by Argo's own event
// recorder for the events the Rollout controller emits, about AnalysisRuns that Argo's analysis
// controller completed against the real judge. Only the delivery is replaced: a capturing
// service stands in for Slack or e-mail (nothing here could receive a message), so the tests
// read the exact text a person would get.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/pkg/client/clientset/versioned/fake"
	informers "github.com/argoproj/argo-rollouts/pkg/client/informers/externalversions"
	"github.com/argoproj/argo-rollouts/utils/conditions"
	"github.com/argoproj/argo-rollouts/utils/record"
	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
)

const (
	// Where Argo's controller runs and reads its notification ConfigMap.
	controllerNamespace = "argo-rollouts"
	// The stand-in delivery service and the recipient the Rollout subscribes.
	captureService = "capture"
	recipient      = "releases"
	revision       = "2"
)

// capture is a notification service that keeps what it is asked to send.
type capture struct {
	mu   sync.Mutex
	sent []services.Notification
	to   []services.Destination
}

func (c *capture) Send(n services.Notification, d services.Destination) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, n)
	c.to = append(c.to, d)
	return nil
}

// capturingFactory is the engine's factory with the capture service added to every API it
// hands out (it rebuilds them whenever its ConfigMap informer reports the ConfigMap).
type capturingFactory struct {
	api.Factory
	capture *capture
}

func (f capturingFactory) GetAPIsFromNamespace(namespace string) (map[string]api.API, error) {
	apis, err := f.Factory.GetAPIsFromNamespace(namespace)
	for _, a := range apis {
		a.AddNotificationService(captureService, f.capture)
	}
	return apis, err
}

func (f capturingFactory) GetAPI() (api.API, error) {
	apis, err := f.GetAPIsFromNamespace(controllerNamespace)
	return apis[controllerNamespace], err
}

// shippedNotificationConfigMap reads rollouts/notifications' ConfigMap, unknown fields refused.
func shippedNotificationConfigMap(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	file := filepath.Join(env.RolloutsDir, "notifications", "argo-rollouts-notification-configmap.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := yamlDocs(data)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%s: want one YAML document (%v)", file, err)
	}
	var cm corev1.ConfigMap
	if err := strictDecode(docs[0], &cm); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if cm.Name != record.NotificationConfigMap || cm.Namespace != controllerNamespace {
		t.Fatalf("%s: ConfigMap %s/%s, want %s/%s", file, cm.Namespace, cm.Name, controllerNamespace, record.NotificationConfigMap)
	}
	return &cm
}

// notify has Argo's event recorder emit reason for rollout, with runs in the cluster, and
// returns what the shipped configuration sends to the Rollout's subscribers.
func notify(t *testing.T, rollout *v1alpha1.Rollout, runs []*v1alpha1.AnalysisRun, reason string) *capture {
	t.Helper()
	cm := shippedNotificationConfigMap(t)
	kube := k8sfake.NewSimpleClientset(cm, &corev1.Secret{})
	objs := make([]runtime.Object, 0, len(runs))
	for _, r := range runs {
		objs = append(objs, r)
	}
	argo := fake.NewSimpleClientset(objs...)

	ctx, cancel := context.WithCancel(context.Background())
	ki := kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0, kubeinformers.WithNamespace(controllerNamespace))
	cmInformer := ki.Core().V1().ConfigMaps().Informer()
	secretInformer := ki.Core().V1().Secrets().Informer()
	ai := informers.NewSharedInformerFactory(argo, 0)
	arInformer := ai.Argoproj().V1alpha1().AnalysisRuns()
	arInformer.Informer()
	ki.Start(ctx.Done())
	ai.Start(ctx.Done())
	ki.WaitForCacheSync(ctx.Done())
	ai.WaitForCacheSync(ctx.Done())
	defer func() {
		// Informers stop when their context ends; only then can Shutdown wait for them.
		cancel()
		ki.Shutdown()
		ai.Shutdown()
	}()

	c := &capture{}
	factory := capturingFactory{
		Factory: api.NewFactory(record.NewAPIFactorySettings(arInformer), controllerNamespace, secretInformer, cmInformer),
		capture: c,
	}
	apis, err := factory.GetAPIsFromNamespace(rollout.Namespace)
	if err != nil {
		t.Fatalf("the notifications engine refused the shipped ConfigMap: %v", err)
	}
	if apis[controllerNamespace] == nil {
		t.Fatalf("no notification configuration for %s", controllerNamespace)
	}

	counter := func(name string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name}, []string{"namespace", "name", "type", "reason"})
	}
	recorder := record.NewEventRecorder(kube, counter("events"), counter("failed"), counter("sent"),
		prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "send_seconds"}, []string{"namespace", "name"}), factory)
	ro := rollout.DeepCopy()
	if ro.Annotations == nil {
		ro.Annotations = map[string]string{}
	}
	ro.Annotations["notifications.argoproj.io/subscribe.on-analysis-run-failed."+captureService] = recipient
	ro.Annotations["notifications.argoproj.io/subscribe.on-rollout-paused."+captureService] = recipient
	recorder.Warnf(ro, record.EventOptions{EventReason: reason}, "event %s", reason)
	for i, d := range c.to {
		if d.Service != captureService || d.Recipient != recipient {
			t.Errorf("notification %d went to %+v, want %s:%s", i, d, captureService, recipient)
		}
	}
	return c
}

// analysed runs the scorecard template's AnalysisRun (step 1's analysis of the shipped
// Rollout) with Argo's analysis controller against judge for scenario sc, and returns the
// Rollout at that step with the run labelled as the Rollout controller labels its runs.
func analysed(t *testing.T, sc scenario, judge string, deadline time.Duration) (*v1alpha1.Rollout, *v1alpha1.AnalysisRun) {
	t.Helper()
	var tmpl *shippedTemplate
	for i, s := range shipped(t).templates {
		if s.Name == "canary-judge-scorecard" {
			tmpl = &shipped(t).templates[i]
		}
	}
	if tmpl == nil {
		t.Fatal("no canary-judge-scorecard template shipped")
	}
	p := prepare(t, *tmpl, sc, judge)
	run := runController(t, p, 0, deadline)
	run.Labels = map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: sc.CanaryHash}
	run.Annotations = map[string]string{"rollout.argoproj.io/revision": revision}

	ro := p.rollout.DeepCopy()
	ro.Annotations = map[string]string{"rollout.argoproj.io/revision": revision}
	step := int32(1)
	ro.Status.CurrentStepIndex = &step
	ro.Status.CurrentPodHash = sc.CanaryHash
	ro.Status.StableRS = sc.StableHash
	return ro, run
}

// lastSummary is the judge's summary in the last measurement of the run's first metric.
func lastSummary(t *testing.T, run *v1alpha1.AnalysisRun) string {
	t.Helper()
	if len(run.Status.MetricResults) == 0 || len(run.Status.MetricResults[0].Measurements) == 0 {
		t.Fatalf("run has no measurement: %s", summarize(run))
	}
	ms := run.Status.MetricResults[0].Measurements
	_, s := decodeStored(ms[len(ms)-1].Value)
	if s == "" {
		t.Fatalf("last measurement holds no judge summary: %s", summarize(run))
	}
	return s
}

// oneMessage is the single notification c holds, its message checked for template leftovers.
func oneMessage(t *testing.T, c *capture) services.Notification {
	t.Helper()
	if len(c.sent) != 1 {
		t.Fatalf("%d notifications sent, want 1: %+v", len(c.sent), c.sent)
	}
	n := c.sent[0]
	for _, leftover := range []string{"<no value>", "map[", "%!", "{{"} {
		if strings.Contains(n.Message, leftover) {
			t.Errorf("message holds %q:\n%s", leftover, n.Message)
		}
	}
	t.Logf("message:\n%s", n.Message)
	return n
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l) {
			t.Errorf("missing %q in:\n%s", l, text)
		}
	}
}

func TestNotifications_When_JudgeFailsTheCanary_Then_RollbackMessageCarriesItsSummary(t *testing.T) {
	t.Parallel()
	requireJudge(t)
	sc := requireScenario(t, scErrors3x)
	ro, run := analysed(t, sc, env.JudgeURL, 30*time.Second)
	if run.Status.Phase != v1alpha1.AnalysisPhaseFailed {
		t.Fatalf("Argo ended the run %s, want Failed: %s", run.Status.Phase, summarize(run))
	}
	summary := lastSummary(t, run)
	if !strings.HasPrefix(summary, "Fail") {
		t.Fatalf("judge summary %q does not start with Fail", summary)
	}
	ro.Status.Abort = true

	n := oneMessage(t, notify(t, ro, []*v1alpha1.AnalysisRun{run}, conditions.RolloutAnalysisRunFailedReason))
	name, ns := ro.Name, ro.Namespace
	if !strings.HasPrefix(n.Message, "Rolled back: ") {
		t.Errorf("message does not open with what happened:\n%s", n.Message)
	}
	wantLines(t, n.Message,
		"Rolled back: "+ns+"/"+name+" failed its canary analysis at step 1",
		"stable version ("+sc.StableHash+")",
		"the canary was "+sc.CanaryHash,
		run.Name+" (Failed):",
		"- "+run.Status.MetricResults[0].Name+": "+summary,
		"kubectl argo rollouts retry rollout "+name+" -n "+ns,
		"kubectl argo rollouts get rollout "+name+" -n "+ns,
	)
	if n.Email == nil || n.Email.Subject != "Rolled back: "+ns+"/"+name+" failed its canary analysis" {
		t.Errorf("e-mail subject %+v", n.Email)
	}
}

func TestNotifications_When_JudgeIsUnreachable_Then_RollbackMessageCarriesArgosError(t *testing.T) {
	t.Parallel()
	sc := requireScenario(t, scErrors3x)
	ro, run := analysed(t, sc, closedPortURL(t), 60*time.Second)
	if run.Status.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("Argo ended the run %s, want Error: %s", run.Status.Phase, summarize(run))
	}
	ms := run.Status.MetricResults[0].Measurements
	last := ms[len(ms)-1]
	if last.Value != "" || last.Message == "" {
		t.Fatalf("last measurement %+v: want an error message and no value", last)
	}
	ro.Status.Abort = true

	n := oneMessage(t, notify(t, ro, []*v1alpha1.AnalysisRun{run}, conditions.RolloutAnalysisRunFailedReason))
	wantLines(t, n.Message, run.Name+" (Error):", "- "+run.Status.MetricResults[0].Name+": "+last.Message)
}

func TestNotifications_When_AnalysisIsInconclusive_Then_PauseMessageOffersPromoteAndAbort(t *testing.T) {
	t.Parallel()
	requireJudge(t)
	sc := requireScenario(t, scLowData)
	ro, run := analysed(t, sc, env.JudgeURL, 90*time.Second)
	if run.Status.Phase != v1alpha1.AnalysisPhaseInconclusive {
		t.Fatalf("Argo ended the run %s, want Inconclusive: %s", run.Status.Phase, summarize(run))
	}
	summary := lastSummary(t, run)
	if !strings.HasPrefix(summary, "Inconclusive") {
		t.Fatalf("judge summary %q does not start with Inconclusive", summary)
	}
	ro.Status.ControllerPause = true
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis}}

	n := oneMessage(t, notify(t, ro, []*v1alpha1.AnalysisRun{run}, conditions.RolloutPausedReason))
	name, ns := ro.Name, ro.Namespace
	if !strings.HasPrefix(n.Message, "Decision needed: ") {
		t.Errorf("message does not open with what is asked:\n%s", n.Message)
	}
	wantLines(t, n.Message,
		"Decision needed: "+ns+"/"+name+" is paused at step 1",
		"the canary ("+sc.CanaryHash+")",
		"the stable version ("+sc.StableHash+")",
		run.Name+" (Inconclusive):",
		"- "+run.Status.MetricResults[0].Name+": "+summary,
		"canary-judge report "+name+" -n "+ns,
		"kubectl argo rollouts promote "+name+" -n "+ns,
		"kubectl argo rollouts abort "+name+" -n "+ns,
	)

	// A run of an earlier release of the same Rollout is not part of this decision.
	old := run.DeepCopy()
	old.Name = "an-earlier-release"
	old.Annotations["rollout.argoproj.io/revision"] = "1"
	n = oneMessage(t, notify(t, ro, []*v1alpha1.AnalysisRun{run, old}, conditions.RolloutPausedReason))
	if strings.Contains(n.Message, old.Name) {
		t.Errorf("message names the earlier release's run:\n%s", n.Message)
	}
}

func TestNotifications_When_RolloutPausesOnAPlainStep_Then_NothingIsSent(t *testing.T) {
	t.Parallel()
	sc := requireScenario(t, scHealthy)
	ro := shipped(t).rollouts[0].DeepCopy()
	ro.Namespace = sc.Namespace
	ro.Status.CurrentPodHash = sc.CanaryHash
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	if c := notify(t, ro, nil, conditions.RolloutPausedReason); len(c.sent) != 0 {
		t.Fatalf("a timed pause step sent %d notifications: %+v", len(c.sent), c.sent)
	}
	ro.Status.PauseConditions = nil
	if c := notify(t, ro, nil, conditions.RolloutPausedReason); len(c.sent) != 0 {
		t.Fatalf("a pause without conditions sent %d notifications: %+v", len(c.sent), c.sent)
	}
}
