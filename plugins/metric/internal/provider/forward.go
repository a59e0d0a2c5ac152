// What the plugin sends: the metric's plugin configuration as Argo hands it, byte for byte, and
// the AnalysisRun it runs in (AnalyzePluginConfig). The judge reads the configuration with its
// one request model (which fields exist, check kinds, types, ranges, Argo's string-typed
// numbers), so a new request field or check kind needs no new plugin. The plugin reads only its
// own keys of the configuration: `address` (which of the judges its flags allow) and `timeout`
// (how long it waits, at most --timeout); the judge ignores those two.
package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

// PluginName is the name the plugin is registered under and read by.
const PluginName = "canary-judge/canary-judge"

// OwnKeys are the configuration's keys the plugin reads itself; every other key is the judge's.
var OwnKeys = []string{"address", "timeout"}

// callOptions are the plugin's own keys of a configuration.
type callOptions struct {
	// Address: one of the judge addresses the flags allow; empty means --address.
	Address string
	// Timeout of the call, at most --timeout; zero means --timeout.
	Timeout time.Duration
}

// ownOptions reads `address` and `timeout` (strings; empty or null means "not set"). A
// configuration that is not a JSON object has neither: it goes to the default judge, which says
// what is wrong with it.
func ownOptions(raw json.RawMessage) (callOptions, error) {
	var o callOptions
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return o, nil
	}
	text := func(k string) (string, error) {
		v, ok := keys[k]
		if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("plugin configuration: %s: %s is not a string", k, v)
		}
		return s, nil
	}
	var err error
	if o.Address, err = text("address"); err != nil {
		return o, err
	}
	t, err := text("timeout")
	if err != nil {
		return o, err
	}
	if t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("plugin configuration: timeout: %q is not a positive duration such as 15s", t)
		}
		o.Timeout = d
	}
	return o, nil
}

// runOf is what the judge needs of the AnalysisRun, as it is: its name and namespace, the
// Rollout controlling it, its labels, and its arguments that carry a value. The controller
// writes a Secret's value into an argument's value before measuring (and keeps valueFrom), so
// an argument read from a Secret is left out: the token of some system never reaches the judge.
func runOf(run *v1alpha1.AnalysisRun) *judgev1.PluginRun {
	r := &judgev1.PluginRun{Name: run.Name, Namespace: run.Namespace, Labels: run.Labels}
	for _, o := range run.OwnerReferences {
		if o.Kind == "Rollout" && o.Controller != nil && *o.Controller {
			r.Rollout = o.Name
		}
	}
	for _, a := range run.Spec.Args {
		if a.Value == nil || (a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil) {
			continue
		}
		if r.Args == nil {
			r.Args = map[string]string{}
		}
		r.Args[a.Name] = *a.Value
	}
	return r
}
