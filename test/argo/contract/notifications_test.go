package contract

// The notification contract: canary-judge's notification patch (rollouts/notifications), applied
// by its kustomize Component over Argo Rollouts' own notification catalogue
// (manifests/notifications-install.yaml of the Argo Rollouts module under test), loaded by the
// notifications engine the way Argo's controller loads it (api.NewFactory with Argo's own
// settings, record.NewAPIFactorySettings, which hand triggers and templates the Rollout and the
// AnalysisRuns of its current release). Our triggers have names of their own
// (on-canary-judge-*), which Argo's event recorder never runs (it runs the trigger named after
// each event, on-<event>), so they are condition triggers: the notifications engine's
// controller, which Argo's controller runs over its Rollout informer with the same factory,
// evaluates them at each change of a subscribed Rollout. The tests drive that controller, and
// Argo's event recorder for the events, about AnalysisRuns Argo's analysis controller completed
// against the real judge (or written by hand where only the trigger's condition is under test).
// Only the delivery is replaced: a capturing service stands in for Slack or e-mail (nothing here
// could receive a message), so the tests read the exact text a person would get.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"sort"
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
	notificationcontroller "github.com/argoproj/notifications-engine/pkg/controller"
	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/prometheus/client_golang/prometheus"
	log "github.com/sirupsen/logrus"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubeinformers "k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"
)

const (
	// Where Argo's controller runs and reads its notification ConfigMap.
	controllerNamespace = "argo-rollouts"
	// The stand-in delivery service and the recipient the Rollout subscribes.
	captureService = "capture"
	recipient      = "releases"
	revision       = "2"
	// Our triggers, as a Rollout subscribes to them.
	triggerFailed       = "on-canary-judge-analysis-failed"
	triggerInconclusive = "on-canary-judge-analysis-inconclusive"
	argoModule          = "github.com/argoproj/argo-rollouts"
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

// ---- the ConfigMap: Argo's catalogue with our patch ------------------------------------------

// argoModuleDir is the directory of the Argo Rollouts module this test binary was built with
// (go.mod or argo-v1.9.mod, see scripts/lib/argo-version.sh), in the Go module cache, and its
// version: read off the source file of Argo's own notification settings
// (<module cache>/github.com/argoproj/argo-rollouts@<version>/utils/record/record.go).
func argoModuleDir(t *testing.T) (dir, version string) {
	t.Helper()
	file, _ := goruntime.FuncForPC(reflect.ValueOf(record.NewAPIFactorySettings).Pointer()).FileLine(0)
	file = filepath.ToSlash(file)
	at := strings.Index(file, argoModule+"@")
	if at < 0 {
		t.Fatalf("Argo's code at %q is not in a module cache (%s@<version>)", file, argoModule)
	}
	rest := file[at+len(argoModule)+1:]
	version = rest[:strings.Index(rest, "/")]
	dir = file[:at+len(argoModule)+1+len(version)]
	if !filepath.IsAbs(dir) { // built with -trimpath
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(strings.TrimSpace(string(out)), dir)
	}
	return filepath.FromSlash(dir), version
}

type notificationConfig struct {
	catalogueFile string            // Argo's notifications-install.yaml, in the module cache
	catalogue     *corev1.ConfigMap // its ConfigMap
	patch         map[string]string // the data of our patch
	installed     *corev1.ConfigMap // kustomize build of the catalogue with our Component
	err           error
}

var (
	configOnce sync.Once
	config     notificationConfig
)

// readConfigMap reads the single ConfigMap a YAML file holds, unknown fields refused.
func readConfigMap(file string, data []byte) (*corev1.ConfigMap, error) {
	docs, err := yamlDocs(data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s: %d YAML documents, want one", file, len(docs))
	}
	var cm corev1.ConfigMap
	if err := strictDecode(docs[0], &cm); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if cm.Kind != "ConfigMap" || cm.Name != record.NotificationConfigMap {
		return nil, fmt.Errorf("%s: %s %s, want ConfigMap %s", file, cm.Kind, cm.Name, record.NotificationConfigMap)
	}
	return &cm, nil
}

// notificationConfigMaps builds (once) Argo's catalogue as the Argo Rollouts module under test
// ships it, and what an Argo Rollouts kustomization that renders it (in namespace argo-rollouts)
// and adds `components: [rollouts/notifications]` renders, with the project's pinned kustomize
// (scripts/kustomize.sh).
func notificationConfigMaps(t *testing.T) notificationConfig {
	t.Helper()
	moduleDir, version := argoModuleDir(t)
	configOnce.Do(func() {
		config.err = func() error {
			config.catalogueFile = filepath.Join(moduleDir, "manifests", "notifications-install.yaml")
			raw, err := os.ReadFile(config.catalogueFile)
			if err != nil {
				return err
			}
			if config.catalogue, err = readConfigMap(config.catalogueFile, raw); err != nil {
				return err
			}
			patchFile := filepath.Join(env.RolloutsDir, "notifications", "canary-judge-notifications.yaml")
			praw, err := os.ReadFile(patchFile)
			if err != nil {
				return err
			}
			patch, err := readConfigMap(patchFile, praw)
			if err != nil {
				return err
			}
			config.patch = patch.Data

			repo, err := filepath.Abs("../../..")
			if err != nil {
				return err
			}
			bin, err := exec.Command("bash", filepath.Join(repo, "scripts", "kustomize.sh")).Output()
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "canary-judge-notifications-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			if err := os.WriteFile(filepath.Join(dir, "notifications-install.yaml"), raw, 0o644); err != nil {
				return err
			}
			component, err := filepath.Abs(filepath.Join(env.RolloutsDir, "notifications"))
			if err != nil {
				return err
			}
			// kustomize takes a component's path relative to the kustomization, never absolute.
			if component, err = filepath.Rel(dir, component); err != nil {
				return err
			}
			kustomization := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
				"namespace: " + controllerNamespace + "\nresources: [notifications-install.yaml]\n" +
				"components: [" + component + "]\n"
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
				return err
			}
			cmd := exec.Command(filepath.Join(strings.TrimSpace(string(bin)), "kustomize"), "build", dir)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			built, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("kustomize build: %w\n%s", err, stderr.String())
			}
			config.installed, err = readConfigMap("kustomize build", built)
			return err
		}()
	})
	if config.err != nil {
		t.Fatalf("Argo Rollouts %s's notification catalogue with our Component: %v", version, config.err)
	}
	return config
}

// ---- firing: Argo's notification controller and event recorder -------------------------------

// subscribed is ro subscribed, on the capture service, to triggers.
func subscribed(ro *v1alpha1.Rollout, triggers ...string) *v1alpha1.Rollout {
	ro = ro.DeepCopy()
	if ro.Annotations == nil {
		ro.Annotations = map[string]string{}
	}
	for _, tr := range triggers {
		ro.Annotations["notifications.argoproj.io/subscribe."+tr+"."+captureService] = recipient
	}
	return ro
}

// toUnstructured converts a Rollout as Argo's controller hands it to the notification controller.
func toUnstructured(obj metav1.Object) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	res := &unstructured.Unstructured{}
	return res, json.Unmarshal(data, res)
}

// world is what the notification code reads: the installed ConfigMap in Argo's namespace, the
// Rollout and the AnalysisRuns behind Argo's informers, and the capture service behind the
// engine's factory with Argo's settings. start starts the informers; they stop at the test's end.
type world struct {
	factory  capturingFactory
	kube     *k8sfake.Clientset
	rollouts cache.SharedIndexInformer
	start    func()
}

func newWorld(t *testing.T, ro *v1alpha1.Rollout, runs []*v1alpha1.AnalysisRun) world {
	t.Helper()
	cm := notificationConfigMaps(t).installed.DeepCopy()
	kube := k8sfake.NewSimpleClientset(cm, &corev1.Secret{})
	objs := []runtime.Object{ro}
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
	w := world{
		factory: capturingFactory{
			Factory: api.NewFactory(record.NewAPIFactorySettings(arInformer), controllerNamespace, secretInformer, cmInformer),
			capture: &capture{},
		},
		kube:     kube,
		rollouts: ai.Argoproj().V1alpha1().Rollouts().Informer(),
	}
	w.start = func() {
		ki.Start(ctx.Done())
		ai.Start(ctx.Done())
		ki.WaitForCacheSync(ctx.Done())
		ai.WaitForCacheSync(ctx.Done())
	}
	t.Cleanup(func() {
		// Informers stop when their context ends; only then can Shutdown wait for them.
		cancel()
		ki.Shutdown()
		ai.Shutdown()
	})
	return w
}

// checkDestinations fails the test for a notification sent anywhere but the subscription.
func checkDestinations(t *testing.T, c *capture) {
	t.Helper()
	for i, d := range c.to {
		if d.Service != captureService || d.Recipient != recipient {
			t.Errorf("notification %d went to %+v, want %s:%s", i, d, captureService, recipient)
		}
	}
}

// namespaceSupport: Argo Rollouts v1.9 always runs the notification controller with namespace
// support; v1.10 only with --self-service-notification-enabled (off by default).
func namespaceSupport(t *testing.T) bool {
	_, version := argoModuleDir(t)
	return strings.HasPrefix(version, "v1.9.")
}

// conditionErrors keeps what the notifications engine logs when a trigger condition does not
// evaluate: it logs it and counts the trigger as not triggered, which would otherwise pass for
// "stays silent".
var conditionErrors = &conditionErrorHook{}

type conditionErrorHook struct {
	mu   sync.Mutex
	msgs []string
}

func (h *conditionErrorHook) Levels() []log.Level { return []log.Level{log.ErrorLevel} }

func (h *conditionErrorHook) Fire(e *log.Entry) error {
	if strings.Contains(e.Message, "failed to execute") {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.msgs = append(h.msgs, e.Message)
	}
	return nil
}

// first is the first message kept, "" if none.
func (h *conditionErrorHook) first() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.msgs) == 0 {
		return ""
	}
	return h.msgs[0]
}

func init() { log.AddHook(conditionErrors) }

// notifyByController has the notifications engine's controller, wired as Argo's controller wires
// it (its Rollout informer, the factory with Argo's settings, the Rollout as unstructured JSON),
// process ro once, subscribed to both our triggers, with runs in the cluster, and returns what it
// sent. The processing must end with no error and no warning (a trigger condition that does not
// evaluate is a warning).
func notifyByController(t *testing.T, ro *v1alpha1.Rollout, runs []*v1alpha1.AnalysisRun) *capture {
	t.Helper()
	ro = subscribed(ro, triggerFailed, triggerInconclusive)
	w := newWorld(t, ro, runs)
	// The controller records what it sent in an annotation, patched through the dynamic client.
	un, err := toUnstructured(ro)
	if err != nil {
		t.Fatal(err)
	}
	un.SetAPIVersion(v1alpha1.SchemeGroupVersion.String())
	un.SetKind("Rollout")
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{v1alpha1.RolloutGVR: "RolloutList"}, un)
	processed := make(chan notificationcontroller.NotificationEventSequence, 8)
	opts := []notificationcontroller.Opts{
		notificationcontroller.WithToUnstructured(toUnstructured),
		notificationcontroller.WithEventCallback(func(s notificationcontroller.NotificationEventSequence) { processed <- s }),
	}
	newController := notificationcontroller.NewController
	if namespaceSupport(t) {
		newController = notificationcontroller.NewControllerWithNamespaceSupport
	}
	ctrl := newController(dyn.Resource(v1alpha1.RolloutGVR), w.rollouts, w.factory, opts...)
	w.start()
	stop := make(chan struct{})
	go ctrl.Run(1, stop)
	defer close(stop)
	select {
	case s := <-processed:
		if s.Key != ro.Namespace+"/"+ro.Name {
			t.Fatalf("processed %s, want %s/%s", s.Key, ro.Namespace, ro.Name)
		}
		for _, e := range s.Errors {
			t.Errorf("notification controller error: %v", e)
		}
		for _, e := range s.Warnings {
			// With namespace support (v1.9) the engine also runs every subscribed trigger against
			// the Rollout namespace's configuration, empty when that namespace has no ConfigMap,
			// and warns that it is not configured there: Argo's own behaviour, for any trigger.
			if namespaceSupport(t) && strings.HasSuffix(e.Error(), "is not configured using the configuration in namespace ") {
				continue
			}
			t.Errorf("notification controller warning: %v", e)
		}
		for _, d := range s.Delivered {
			if d.AlreadyNotified {
				t.Errorf("%s to %+v: already notified on the first pass", d.Trigger, d.Destination)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the notification controller did not process the Rollout within 30 s")
	}
	checkDestinations(t, w.factory.capture)
	if msg := conditionErrors.first(); msg != "" {
		t.Errorf("a trigger condition did not evaluate (in this test or one running beside it): %s", msg)
	}
	return w.factory.capture
}

// notifyByEvent has Argo's event recorder emit reason for ro (subscribed to triggers), with runs
// in the cluster, and returns what was sent.
func notifyByEvent(t *testing.T, ro *v1alpha1.Rollout, runs []*v1alpha1.AnalysisRun, reason string, triggers ...string) *capture {
	t.Helper()
	ro = subscribed(ro, triggers...)
	w := newWorld(t, ro, runs)
	w.start()
	if _, err := w.factory.GetAPIsFromNamespace(ro.Namespace); err != nil {
		t.Fatalf("the notifications engine refused the installed ConfigMap: %v", err)
	}
	counter := func(name string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name}, []string{"namespace", "name", "type", "reason"})
	}
	recorder := record.NewEventRecorder(w.kube, counter("events"), counter("failed"), counter("sent"),
		prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "send_seconds"}, []string{"namespace", "name"}), w.factory)
	recorder.Warnf(ro, record.EventOptions{EventReason: reason}, "event %s", reason)
	checkDestinations(t, w.factory.capture)
	return w.factory.capture
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

// ---- the catalogue -------------------------------------------------------------------------------

func TestNotifications_When_OurComponentIsAppliedOverArgosCatalogue_Then_EveryBuiltInStaysAsItIs(t *testing.T) {
	t.Parallel()
	cfg := notificationConfigMaps(t)
	_, version := argoModuleDir(t)
	t.Logf("Argo Rollouts %s catalogue: %s", version, cfg.catalogueFile)
	builtIns := 0
	for k := range cfg.catalogue.Data {
		if strings.HasPrefix(k, "trigger.") || strings.HasPrefix(k, "template.") {
			builtIns++
		}
		if _, clash := cfg.patch[k]; clash {
			t.Errorf("our patch redefines Argo's %s", k)
		}
	}
	// Argo's documented built-in triggers, each with its template.
	for _, tr := range []string{"on-analysis-run-error", "on-analysis-run-failed", "on-analysis-run-running",
		"on-rollout-aborted", "on-rollout-completed", "on-rollout-paused", "on-rollout-step-completed",
		"on-rollout-updated", "on-scaling-replica-set"} {
		if _, ok := cfg.catalogue.Data["trigger."+tr]; !ok {
			t.Errorf("Argo's catalogue has no trigger.%s: not the catalogue this test expects", tr)
		}
	}
	if builtIns < 18 {
		t.Fatalf("Argo's catalogue holds %d triggers and templates, want its 9 + 9", builtIns)
	}

	// The merged data against what it is made of, three ways: kustomize with our Component (the
	// kustomize path), the API server's strategic merge patch and its JSON merge patch (the
	// `kubectl patch` path, default type and --type merge) of our file over the catalogue.
	catalogueJSON, err := json.Marshal(cfg.catalogue)
	if err != nil {
		t.Fatal(err)
	}
	patchYAML, err := os.ReadFile(filepath.Join(env.RolloutsDir, "notifications", "canary-judge-notifications.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	patchJSON, err := yaml.YAMLToJSON(patchYAML)
	if err != nil {
		t.Fatal(err)
	}
	strategic, err := strategicpatch.StrategicMergePatch(catalogueJSON, patchJSON, corev1.ConfigMap{})
	if err != nil {
		t.Fatal(err)
	}
	merge, err := jsonpatch.MergePatch(catalogueJSON, patchJSON)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]*corev1.ConfigMap{"kustomize build with components: [rollouts/notifications]": cfg.installed}
	for name, data := range map[string][]byte{"strategic merge patch": strategic, "JSON merge patch": merge} {
		var cm corev1.ConfigMap
		if err := strictDecode(data, &cm); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		results[name] = &cm
	}
	for how, cm := range results {
		for k, v := range cfg.catalogue.Data {
			got, ok := cm.Data[k]
			if !ok {
				t.Errorf("%s: Argo's %s is gone", how, k)
			} else if got != v {
				t.Errorf("%s: Argo's %s changed:\n%q\nwant\n%q", how, k, got, v)
			}
		}
		for k, v := range cfg.patch {
			if got := cm.Data[k]; got != v {
				t.Errorf("%s: our %s is %q, want %q", how, k, got, v)
			}
		}
		if want := len(cfg.catalogue.Data) + len(cfg.patch); len(cm.Data) != want {
			t.Errorf("%s: %d keys, want Argo's %d and our %d", how, len(cm.Data), len(cfg.catalogue.Data), len(cfg.patch))
		}
		// Argo's object keeps its identity: our patch adds no labels or annotations to it.
		if cm.Name != cfg.catalogue.Name || len(cm.Labels) != len(cfg.catalogue.Labels) || len(cm.Annotations) != len(cfg.catalogue.Annotations) {
			t.Errorf("%s: metadata %+v, want Argo's %+v", how, cm.ObjectMeta, cfg.catalogue.ObjectMeta)
		}
	}
	ours := make([]string, 0, len(cfg.patch))
	for k := range cfg.patch {
		ours = append(ours, k)
	}
	sort.Strings(ours)
	t.Logf("Argo's catalogue: %d keys; ours: %s", len(cfg.catalogue.Data), strings.Join(ours, ", "))

	// The engine loads the result (every trigger condition compiles) and Argo's built-in
	// triggers still send Argo's built-in templates.
	w := newWorld(t, shipped(t).rollouts[0], nil)
	w.start()
	a, err := w.factory.GetAPI()
	if err != nil || a == nil {
		t.Fatalf("the notifications engine refused the installed ConfigMap: %v", err)
	}
	triggers := a.GetConfig().Triggers
	for _, tr := range []string{"on-analysis-run-failed", "on-rollout-paused", triggerFailed, triggerInconclusive} {
		if len(triggers[tr]) == 0 {
			t.Errorf("the engine has no trigger %s", tr)
		}
	}
	if got := triggers["on-rollout-paused"]; len(got) != 1 || got[0].When != "" || len(got[0].Send) != 1 || got[0].Send[0] != "rollout-paused" {
		t.Errorf("Argo's on-rollout-paused is %+v, want its unconditional send of rollout-paused", got)
	}
}

// ---- our triggers fire -----------------------------------------------------------------------

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

	n := oneMessage(t, notifyByController(t, ro, []*v1alpha1.AnalysisRun{run}))
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

	// Argo's event for it reaches only the trigger named after it: a Rollout subscribed to ours
	// gets no second message from the event.
	if c := notifyByEvent(t, ro, []*v1alpha1.AnalysisRun{run}, conditions.RolloutAnalysisRunFailedReason, triggerFailed, triggerInconclusive); len(c.sent) != 0 {
		t.Errorf("Argo's AnalysisRunFailed event sent %d notifications to our subscriptions: %+v", len(c.sent), c.sent)
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

	n := oneMessage(t, notifyByController(t, ro, []*v1alpha1.AnalysisRun{run}))
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

	n := oneMessage(t, notifyByController(t, ro, []*v1alpha1.AnalysisRun{run}))
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
	n = oneMessage(t, notifyByController(t, ro, []*v1alpha1.AnalysisRun{run, old}))
	if strings.Contains(n.Message, old.Name) {
		t.Errorf("message names the earlier release's run:\n%s", n.Message)
	}

	// Argo's RolloutPaused event: nothing more for our subscriptions; a subscription to Argo's
	// own on-rollout-paused still gets Argo's own message, as without our patch.
	if c := notifyByEvent(t, ro, []*v1alpha1.AnalysisRun{run}, conditions.RolloutPausedReason, triggerFailed, triggerInconclusive); len(c.sent) != 0 {
		t.Errorf("Argo's RolloutPaused event sent %d notifications to our subscriptions: %+v", len(c.sent), c.sent)
	}
	n = oneMessage(t, notifyByEvent(t, ro, []*v1alpha1.AnalysisRun{run}, conditions.RolloutPausedReason, "on-rollout-paused"))
	if want := "Rollout " + name + " has been paused."; n.Message != want {
		t.Errorf("Argo's built-in on-rollout-paused sent %q, want its own %q", n.Message, want)
	}
}

// ---- and stay silent otherwise ---------------------------------------------------------------

// byHand is an AnalysisRun of ro's current release with one metric of provider, ended in phase,
// as Argo's controllers would have left it (only the trigger conditions are under test).
func byHand(ro *v1alpha1.Rollout, name string, phase v1alpha1.AnalysisPhase, provider v1alpha1.MetricProvider) *v1alpha1.AnalysisRun {
	value, _ := json.Marshal(string(phase) + ": written by hand")
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			Namespace:         ro.Namespace,
			Labels:            map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: ro.Status.CurrentPodHash},
			Annotations:       map[string]string{"rollout.argoproj.io/revision": revision},
			CreationTimestamp: metav1.Now(),
		},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{Name: "check", Provider: provider}}},
		Status: v1alpha1.AnalysisRunStatus{
			Phase: phase,
			MetricResults: []v1alpha1.MetricResult{{
				Name: "check", Phase: phase,
				Measurements: []v1alpha1.Measurement{{Phase: phase, Value: string(value)}},
			}},
		},
	}
}

func TestNotifications_OurTriggersFireOnlyForTheJudgesAnalyses(t *testing.T) {
	t.Parallel()
	base := shipped(t).rollouts[0].DeepCopy()
	base.Namespace = "notified"
	base.Annotations = map[string]string{"rollout.argoproj.io/revision": revision}
	step := int32(1)
	base.Status.CurrentStepIndex = &step
	base.Status.CurrentPodHash = "canary6f9d"
	base.Status.StableRS = "stable5c7b"

	judgeWeb := v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://canary-judge.canary-judge.svc.cluster.local:8080/api/v1/analyses"}}
	judgeContract := v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://judge.example.test:8080/api/v1/contract-checks"}}
	judgePlugin := v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{"canary-judge/canary-judge": json.RawMessage(`{"checks":[]}`)}}
	otherWeb := v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://slo-checker.example.test/api/v1/verdict"}}
	prom := v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Address: "http://prometheus.example.test:9090", Query: "vector(1)"}}
	inconclusivePause := []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis}}

	cases := []struct {
		name    string
		abort   bool
		pause   []v1alpha1.PauseCondition
		runs    func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun
		opening string // "" = nothing sent
	}{
		{name: "a timed pause step", pause: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}},
		{name: "no pause, no abort, no runs"},
		{name: "a judge run still running", runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "running", v1alpha1.AnalysisPhaseRunning, judgeWeb)}
		}},
		{name: "a judge run Failed, the Rollout not aborted (yet)", runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "failed", v1alpha1.AnalysisPhaseFailed, judgeWeb)}
		}},
		{name: "aborted by hand, the judge's run Successful", abort: true, runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "passed", v1alpha1.AnalysisPhaseSuccessful, judgeWeb)}
		}},
		{name: "aborted for a Prometheus analysis that Failed", abort: true, runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "prometheus", v1alpha1.AnalysisPhaseFailed, prom),
				byHand(ro, "passed", v1alpha1.AnalysisPhaseSuccessful, judgeWeb)}
		}},
		{name: "aborted for another web analysis that Failed", abort: true, runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "other-web", v1alpha1.AnalysisPhaseError, otherWeb)}
		}},
		{name: "aborted, the judge's Failed run from an earlier release", abort: true, runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			r := byHand(ro, "earlier", v1alpha1.AnalysisPhaseFailed, judgeWeb)
			r.Annotations["rollout.argoproj.io/revision"] = "1"
			return []*v1alpha1.AnalysisRun{r}
		}},
		{name: "paused for a Prometheus analysis that was Inconclusive", pause: inconclusivePause, runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "prometheus", v1alpha1.AnalysisPhaseInconclusive, prom)}
		}},
		{name: "a judge run Inconclusive, the Rollout promoted since", runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "inconclusive", v1alpha1.AnalysisPhaseInconclusive, judgeWeb)}
		}},
		// and fire for every way a template asks the judge
		{name: "aborted, the judge's contract check Failed", abort: true, opening: "Rolled back: ", runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "contract", v1alpha1.AnalysisPhaseFailed, judgeContract)}
		}},
		{name: "aborted, the judge's plugin run Failed", abort: true, opening: "Rolled back: ", runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "plugin", v1alpha1.AnalysisPhaseFailed, judgePlugin)}
		}},
		{name: "paused for the judge's plugin run, Inconclusive", pause: inconclusivePause, opening: "Decision needed: ", runs: func(ro *v1alpha1.Rollout) []*v1alpha1.AnalysisRun {
			return []*v1alpha1.AnalysisRun{byHand(ro, "plugin", v1alpha1.AnalysisPhaseInconclusive, judgePlugin),
				byHand(ro, "prometheus", v1alpha1.AnalysisPhaseSuccessful, prom)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ro := base.DeepCopy()
			ro.Name = strings.NewReplacer(" ", "-", ",", "", "'", "", "(", "", ")", "").Replace(strings.ToLower(tc.name))
			ro.Status.Abort = tc.abort
			ro.Status.PauseConditions = tc.pause
			ro.Status.ControllerPause = len(tc.pause) > 0
			var runs []*v1alpha1.AnalysisRun
			if tc.runs != nil {
				runs = tc.runs(ro)
			}
			c := notifyByController(t, ro, runs)
			if tc.opening == "" {
				if len(c.sent) != 0 {
					t.Fatalf("sent %d notifications, want none: %+v", len(c.sent), c.sent)
				}
				return
			}
			if n := oneMessage(t, c); !strings.HasPrefix(n.Message, tc.opening) {
				t.Errorf("message does not open with %q:\n%s", tc.opening, n.Message)
			}
		})
	}
}
