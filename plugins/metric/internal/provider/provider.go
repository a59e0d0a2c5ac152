// The plugin itself: Argo's metric-provider interface (metricproviders/plugin/rpc's
// MetricProviderPlugin) over the judge. Run is synchronous — one call per measurement —
// so Resume and Terminate have nothing to resume or stop, and the plugin keeps no state to
// collect. Every failure is an Error measurement carrying the reason, never a verdict.
package provider

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

// ProviderType is what Argo's own plugin provider reports (metricproviders/plugin.ProviderType).
const ProviderType = "RPCPlugin"

type Plugin struct {
	opts   Options
	judges *judges
}

var _ rpc.MetricProviderPlugin = (*Plugin)(nil)

func New(opts Options) *Plugin {
	return &Plugin{opts: opts, judges: newJudges(opts)}
}

// InitPlugin checks what can be checked before the first measurement: the TLS material. The
// token is read at every call (a Secret mounted as a file is rotated in place).
func (p *Plugin) InitPlugin() types.RpcError {
	if _, err := p.judges.credentials(); err != nil {
		return types.RpcError{ErrorString: err.Error()}
	}
	return types.RpcError{}
}

func (p *Plugin) Run(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	started := metav1.Now()
	m := v1alpha1.Measurement{StartedAt: &started}
	res, err := p.analyze(run, metric)
	if err == nil {
		m.Phase, err = phaseOf(res, metric)
	}
	finished := metav1.Now()
	m.FinishedAt = &finished
	if err != nil {
		m.Phase = v1alpha1.AnalysisPhaseError
		m.Message = err.Error()
		return m
	}
	m.Value = jsonString(res.GetSummary())
	m.Metadata = res.GetMetadata()
	return m
}

// jsonString encodes the summary as a JSON string. The dashboard JSON.parses every value and
// shows nothing for one that is not JSON (ui/src/app/components/analysis-modal/transforms.ts,
// transformMeasurementValue); a JSON string it shows as it is. Not HTML-escaped, so "≥" and
// "→" stay readable in `kubectl describe`.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func (p *Plugin) analyze(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) (*judgev1.AnalyzePluginConfigResponse, error) {
	if run == nil {
		return nil, fmt.Errorf("no AnalysisRun in the call")
	}
	raw := configOf(metric)
	own, err := ownOptions(raw)
	if err != nil {
		return nil, err
	}
	addr, err := p.address(own)
	if err != nil {
		return nil, err
	}
	timeout := p.opts.Timeout
	if own.Timeout > 0 && own.Timeout < timeout {
		timeout = own.Timeout
	}
	return p.judges.analyze(addr, timeout, &judgev1.AnalyzePluginConfigRequest{Config: raw, Run: runOf(run)})
}

// address is the judge a configuration asks for, if the flags allow it.
func (p *Plugin) address(own callOptions) (string, error) {
	addr := own.Address
	if addr == "" {
		addr = p.opts.Address
	}
	if !p.opts.allows(addr) {
		return "", fmt.Errorf("address %q is not one the plugin's registration allows (--address, --allow-address)", addr)
	}
	return addr, nil
}

// configOf picks the plugin's configuration out of the metric. Argo lets a metric name exactly
// one plugin, and the controller starts this binary for whatever name it is registered under
// (canary-judge/canary-judge, or a second entry with other flags, e.g. another judge and token),
// so the one entry is ours whatever its key.
func configOf(metric v1alpha1.Metric) json.RawMessage {
	if raw, ok := metric.Provider.Plugin[PluginName]; ok || len(metric.Provider.Plugin) != 1 {
		return raw
	}
	for _, raw := range metric.Provider.Plugin {
		return raw
	}
	return nil
}

func (p *Plugin) Resume(_ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	return m
}

func (p *Plugin) Terminate(_ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	return m
}

func (p *Plugin) GarbageCollect(*v1alpha1.AnalysisRun, v1alpha1.Metric, int) types.RpcError {
	return types.RpcError{}
}

func (p *Plugin) Type() string { return ProviderType }

// GetMetadata describes the metric before any measurement: which judge it asks. What it asks is
// the judge's to read.
func (p *Plugin) GetMetadata(metric v1alpha1.Metric) map[string]string {
	own, err := ownOptions(configOf(metric))
	if err == nil {
		var addr string
		if addr, err = p.address(own); err == nil {
			return map[string]string{"judge": addr}
		}
	}
	return map[string]string{"error": err.Error()}
}
