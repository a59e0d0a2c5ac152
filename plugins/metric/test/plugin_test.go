// Package plugintest runs the built plugin binary the way the Argo Rollouts controller does,
// through Argo's own code: argo-rollouts-config is read by utils/config, the binary is put in
// place by utils/plugin.DownloadPlugins (file:// location, real sha256), started and spoken to by
// metricproviders/plugin (go-plugin, net/rpc, gob), and each measurement reaches the running
// judge, which reads a real Prometheus loaded with scenario data (run.sh starts them).
package plugintest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/config"
	"github.com/argoproj/argo-rollouts/utils/defaults"
	pluginutil "github.com/argoproj/argo-rollouts/utils/plugin"
	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

type scenario struct {
	Namespace  string `json:"namespace"`
	CanaryHash string `json:"canaryHash"`
	StableHash string `json:"stableHash"`
	Verdict    string `json:"verdict"`
}

var (
	binary    string
	binarySHA string
	scenarios map[string]scenario
)

// The registrations of the one binary: as shipped, and with flags that make it fail.
const (
	pluginOK         = "canary-judge/canary-judge"
	pluginWrongToken = "canary-judge-test/wrong-token"
	pluginJudgeDown  = "canary-judge-test/judge-down"
)

func must(k string) string {
	v := os.Getenv(k)
	if v == "" {
		fmt.Fprintf(os.Stderr, "plugintest: %s is not set (run plugins/metric/test/run.sh)\n", k)
		os.Exit(2)
	}
	return v
}

func TestMain(m *testing.M) {
	log.SetLevel(log.WarnLevel)
	binary = must("PLUGIN_BINARY")
	b, err := os.ReadFile(binary)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugintest:", err)
		os.Exit(2)
	}
	sum := sha256.Sum256(b)
	binarySHA = hex.EncodeToString(sum[:])
	raw, err := os.ReadFile(must("CANARY_JUDGE_SCENARIOS"))
	if err == nil {
		err = json.Unmarshal(raw, &scenarios)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugintest: scenarios:", err)
		os.Exit(2)
	}
	// The controller's working directory, where DownloadPlugins puts plugin-bin/.
	dir, err := os.MkdirTemp("", "canary-judge-plugintest-")
	if err == nil {
		err = os.Chdir(dir)
	}
	if err == nil {
		err = register(registrations(), true)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugintest:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type entry struct {
	Name     string   `json:"name"`
	Location string   `json:"location"`
	Sha256   string   `json:"sha256,omitempty"`
	Args     []string `json:"args,omitempty"`
}

func registrations() []entry {
	judge := must("JUDGE_GRPC_ADDR")
	loc := "file://" + binary
	return []entry{
		{Name: pluginOK, Location: loc, Sha256: binarySHA, Args: []string{"--address=" + judge, "--token-env=PLUGINTEST_TOKEN"}},
		{Name: pluginWrongToken, Location: loc, Sha256: binarySHA, Args: []string{"--address=" + judge, "--token-env=PLUGINTEST_WRONG_TOKEN"}},
		{Name: pluginJudgeDown, Location: loc, Sha256: binarySHA, Args: []string{"--address=" + must("JUDGE_DOWN_ADDR"), "--token-env=PLUGINTEST_TOKEN"}},
	}
}

// register loads an argo-rollouts-config holding these entries the way the controller does at
// start-up, and (download) puts the binaries in place.
func register(entries []entry, download bool) error {
	list, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: defaults.DefaultRolloutsConfigMapName, Namespace: defaults.Namespace()},
		Data:       map[string]string{"metricProviderPlugins": string(list)},
	}
	client := fake.NewSimpleClientset(cm)
	config.UnInitializeConfig()
	if _, err := config.InitializeConfig(client, defaults.DefaultRolloutsConfigMapName); err != nil {
		return err
	}
	if download {
		return pluginutil.DownloadPlugins(pluginutil.FileDownloaderImpl{}, client)
	}
	return nil
}

// analysisRun is what the controller creates for a step of the catalogo Rollout.
func analysisRun(s scenario) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "catalogo-" + s.CanaryHash + "-2-1",
			Namespace: s.Namespace,
			Labels: map[string]string{
				"rollouts-pod-template-hash": s.CanaryHash,
				"rollout-type":               "Step",
				"step-index":                 "1",
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "catalogo",
				UID: "0b5f1e9c-0000-4000-8000-000000000001", Controller: ptr.To(true),
			}},
		},
	}
}

// metric is the shipped gate's metric with the plugin as provider; cfg tweaks its config.
func metric(name string, s scenario, cfg func(map[string]any)) v1alpha1.Metric {
	c := map[string]any{
		"selector": map[string]any{"stable": s.StableHash},
		"checks": []any{
			map[string]any{"type": "error-rate", "name": "error-rate", "errorCodes": "5xx", "criticalEffect": "2", "criticalIncrease": "0.001", "critical": "true"},
			map[string]any{"type": "latency", "name": "latency", "quantile": "0.99", "criticalEffect": "2", "criticalIncrease": "0.001", "critical": "true"},
		},
	}
	if cfg != nil {
		cfg(c)
	}
	raw, _ := json.Marshal(c)
	return v1alpha1.Metric{
		Name:     "scorecard",
		Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{name: raw}},
	}
}

func measure(t *testing.T, m v1alpha1.Metric, s scenario) v1alpha1.Measurement {
	t.Helper()
	p, err := plugin.NewRpcPlugin(m)
	if err != nil {
		t.Fatalf("Argo could not start the plugin: %v", err)
	}
	if got := p.Type(); got != plugin.ProviderType {
		t.Fatalf("Type() = %q, want %q", got, plugin.ProviderType)
	}
	got := p.Run(analysisRun(s), m)
	t.Logf("phase %s, value %q, message %q", got.Phase, got.Value, got.Message)
	return got
}

func scenarioNamed(t *testing.T, name string) scenario {
	t.Helper()
	s, ok := scenarios[name]
	if !ok {
		t.Fatalf("no scenario %q in the data", name)
	}
	return s
}

func TestWhenCanaryHealthyThenSuccessfulWithSummaryAsValue(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginOK, s, nil), s)
	if got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("phase %s (%s), want Successful; value %q", got.Phase, got.Message, got.Value)
	}
	// The dashboard JSON.parses the value (transforms.ts, transformMeasurementValue): it must be
	// a JSON string to be shown as text.
	var summary string
	if err := json.Unmarshal([]byte(got.Value), &summary); err != nil {
		t.Fatalf("value %q is not a JSON string: %v", got.Value, err)
	}
	if !strings.HasPrefix(summary, "Pass ") {
		t.Errorf("summary %q does not open with the verdict", summary)
	}
	for _, k := range []string{"verdict", "score", "error-rate.verdict", "error-rate.canary", "error-rate.stable", "error-rate.effect", "error-rate.eValue", "error-rate.power", "latency.verdict"} {
		if got.Metadata[k] == "" {
			t.Errorf("metadata has no %q: %v", k, got.Metadata)
		}
	}
	if got.Metadata["verdict"] != "Pass" || got.Metadata["error-rate.verdict"] != "Pass (no_regression)" {
		t.Errorf("metadata verdicts %q / %q", got.Metadata["verdict"], got.Metadata["error-rate.verdict"])
	}
	if got.StartedAt == nil || got.FinishedAt == nil {
		t.Errorf("measurement without start or finish time")
	}
}

func TestWhenCanaryHasThreeTimesTheErrorsThenFailed(t *testing.T) {
	s := scenarioNamed(t, "error-rate-3x")
	got := measure(t, metric(pluginOK, s, nil), s)
	if got.Phase != v1alpha1.AnalysisPhaseFailed {
		t.Fatalf("phase %s (%s), want Failed; value %q", got.Phase, got.Message, got.Value)
	}
	if !strings.HasPrefix(got.Value, `"Fail `) || !strings.Contains(got.Value, "error-rate") {
		t.Errorf("value %q does not say which check failed", got.Value)
	}
	if got.Metadata["error-rate.verdict"] != "Fail (regression_detected)" {
		t.Errorf("error-rate.verdict %q", got.Metadata["error-rate.verdict"])
	}
	if !strings.HasPrefix(got.Metadata["error-rate.effect"], "ratio ") {
		t.Errorf("error-rate.effect %q", got.Metadata["error-rate.effect"])
	}
}

func TestWhenDataAreTooFewThenInconclusive(t *testing.T) {
	s := scenarioNamed(t, "low-data")
	got := measure(t, metric(pluginOK, s, nil), s)
	if got.Phase != v1alpha1.AnalysisPhaseInconclusive {
		t.Fatalf("phase %s (%s), want Inconclusive; value %q", got.Phase, got.Message, got.Value)
	}
	if !strings.HasPrefix(got.Value, `"Inconclusive `) {
		t.Errorf("value %q", got.Value)
	}
}

func TestWhenTheMetricHasConditionsThenArgoEvaluatorDecides(t *testing.T) {
	// The guard's conditions: Inconclusive counts as a success, only Fail fails.
	s := scenarioNamed(t, "low-data")
	m := metric(pluginOK, s, nil)
	m.SuccessCondition = `result.verdict == "Pass" || result.verdict == "Inconclusive"`
	m.FailureCondition = `result.verdict == "Fail"`
	if got := measure(t, m, s); got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("guard on low data: phase %s (%s), want Successful", got.Phase, got.Message)
	}
	bad := scenarioNamed(t, "error-rate-3x")
	mb := metric(pluginOK, bad, nil)
	mb.SuccessCondition, mb.FailureCondition = m.SuccessCondition, m.FailureCondition
	if got := measure(t, mb, bad); got.Phase != v1alpha1.AnalysisPhaseFailed {
		t.Fatalf("guard on 3x errors: phase %s (%s), want Failed", got.Phase, got.Message)
	}
}

func TestWhenTheJudgeIsDownThenErrorSaysUnreachable(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginJudgeDown, s, nil), s)
	if got.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("phase %s, want Error; value %q", got.Phase, got.Value)
	}
	if !strings.Contains(got.Message, "unreachable") || !strings.Contains(got.Message, os.Getenv("JUDGE_DOWN_ADDR")) {
		t.Errorf("message %q does not say the judge is unreachable at its address", got.Message)
	}
	if got.Value != "" {
		t.Errorf("an Error measurement carries value %q", got.Value)
	}
}

func TestWhenTheJudgeRefusesTheRequestThenErrorCarriesItsMessage(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginOK, s, func(c map[string]any) {
		c["checks"].([]any)[0].(map[string]any)["alpha"] = "0.7"
	}), s)
	if got.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("phase %s, want Error; value %q", got.Phase, got.Value)
	}
	for _, want := range []string{"invalid_request", "checks[0].alpha", "alpha must be ≤ 0.5"} {
		if !strings.Contains(got.Message, want) {
			t.Errorf("message %q lacks %q", got.Message, want)
		}
	}
}

func TestWhenTheTokenIsWrongThenErrorSaysSo(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginWrongToken, s, nil), s)
	if got.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("phase %s, want Error; value %q", got.Phase, got.Value)
	}
	if !strings.Contains(got.Message, "refused the token") {
		t.Errorf("message %q does not say the judge refused the token", got.Message)
	}
}

func TestWhenTheConfigIsMisspeltThenErrorNamesTheField(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginOK, s, func(c map[string]any) { c["critcalEffect"] = "2" }), s)
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(got.Message, "critcalEffect") {
		t.Fatalf("phase %s, message %q: want an Error naming the unknown field", got.Phase, got.Message)
	}
}

func TestWhenATemplateNamesAnotherAddressThenTheTokenIsNotSent(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginOK, s, func(c map[string]any) { c["address"] = "attacker.example:9090" }), s)
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(got.Message, "not one the plugin's registration allows") {
		t.Fatalf("phase %s, message %q: want an Error refusing the address", got.Phase, got.Message)
	}
}

func TestWhenTheStableHashIsMissingThenErrorSaysWhereToGetIt(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginOK, s, func(c map[string]any) { delete(c, "selector") }), s)
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(got.Message, "podTemplateHashValue: Stable") {
		t.Fatalf("phase %s, message %q", got.Phase, got.Message)
	}
}

// A check type the plugin has never heard of reaches the judge as written: the plugin reads
// no check, so the judge's answer is about the kind (here it refuses a kind it does not have,
// naming the field; a kind it has is judged the same way, with no new plugin).
func TestACheckKindUnknownToThePluginReachesTheJudge(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginOK, s, func(c map[string]any) {
		c["checks"] = []any{map[string]any{"type": "a-kind-added-later", "name": "later", "badQuery": "sum(x)"}}
	}), s)
	if got.Phase != v1alpha1.AnalysisPhaseError {
		t.Fatalf("phase %s, want Error; value %q", got.Phase, got.Value)
	}
	for _, want := range []string{"refused the request (invalid_request, checks[0].type)", "check type must be"} {
		if !strings.Contains(got.Message, want) {
			t.Errorf("message %q lacks %q", got.Message, want)
		}
	}
}

// A check kind added to the judge after the plugin's registration was written (`ratio`: the
// sha256s in plugins/install and the chart predate it, and reproducible.sh shows this build
// still has them) is judged through the plugin: the judge reads the application's own counter
// (catalogo_searches_total, backfilled for the healthy scenario) and answers a verdict, not an
// error. Beside it, a type the judge does not have is refused by the judge, naming the field.
func TestACheckKindAddedAfterThePluginIsJudgedThroughIt(t *testing.T) {
	s := scenarioNamed(t, "healthy")
	got := measure(t, metric(pluginOK, s, func(c map[string]any) {
		c["checks"] = append(c["checks"].([]any), map[string]any{
			"type": "ratio", "name": "empty-searches",
			"bad":            `catalogo_searches_total{result="empty", $selector}`,
			"total":          "catalogo_searches_total{$selector}",
			"criticalEffect": "2", "criticalIncrease": "0.01", "critical": "true",
		})
	}), s)
	if got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("phase %s (%s), want Successful; value %q", got.Phase, got.Message, got.Value)
	}
	if v := got.Metadata["empty-searches.verdict"]; v != "Pass (no_regression)" {
		t.Errorf("empty-searches.verdict %q, want the ratio check judged: %v", v, got.Metadata)
	}
	for _, k := range []string{"empty-searches.canary", "empty-searches.stable", "empty-searches.effect", "empty-searches.power"} {
		if got.Metadata[k] == "" {
			t.Errorf("metadata has no %q: %v", k, got.Metadata)
		}
	}
	if !strings.Contains(got.Value, "empty-searches") {
		t.Errorf("value %q does not mention the ratio check", got.Value)
	}
}

// `--help` prints the usage and exits 0, as the binary Argo runs.
func TestHelpPrintsTheUsageAndExitsZero(t *testing.T) {
	out, err := exec.Command(binary, "--help").Output()
	if err != nil {
		t.Fatalf("--help: %v (output %q)", err, out)
	}
	for _, want := range []string{"Argo Rollouts", "controller", "--install DIR", "-address", "-token-file", "address ", "timeout "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("usage lacks %q:\n%s", want, out)
		}
	}
}

// What the controller does with the registration's sha256 (utils/plugin.DownloadPlugins, the
// same in v1.9 and v1.10): checked only for an http(s) location, where a mismatch is the error
// the controller turns into log.Fatalf at start-up; a file:// location is copied as it is.
func TestSha256IsCheckedForDownloadsOnly(t *testing.T) {
	defer func() {
		if err := register(registrations(), false); err != nil {
			t.Fatalf("restoring the registration: %v", err)
		}
	}()
	wrong := strings.Repeat("0", 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, binary)
	}))
	defer srv.Close()

	err := register([]entry{{Name: "canary-judge-sha/http-right", Location: srv.URL + "/plugin", Sha256: binarySHA}}, true)
	if err != nil {
		t.Fatalf("the right sha256 over http was refused: %v", err)
	}
	err = register([]entry{{Name: "canary-judge-sha/http-wrong", Location: srv.URL + "/plugin", Sha256: wrong}}, true)
	if err == nil || !strings.Contains(err.Error(), "does not match expected hash") {
		t.Fatalf("a wrong sha256 over http gave %v, want the mismatch error", err)
	}
	err = register([]entry{{Name: "canary-judge-sha/file-wrong", Location: "file://" + binary, Sha256: wrong}}, true)
	if err != nil {
		t.Fatalf("file:// with a wrong sha256: %v (Argo does not check it; if this changed, update plugins/README.md)", err)
	}
	if _, err := os.Stat(filepath.Join(defaults.DefaultRolloutPluginFolder, "canary-judge-sha", "file-wrong")); err != nil {
		t.Fatalf("file:// plugin not copied: %v", err)
	}
}
