// The plugin's configuration in a template: what goes under
// `provider.plugin."canary-judge/canary-judge"`. It mirrors the judge's request, minus what the
// AnalysisRun already says (its namespace, the Rollout owning it, the canary's pod-template
// hash). Argo substitutes `{{args.x}}` into it as text, so every number and boolean may arrive
// as a JSON string; an empty string means "not set" (the judge's default). Unknown fields are
// refused, so a misspelt parameter is an Error measurement, never silently the default.
package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PluginName is the name the plugin is registered under and read by.
const PluginName = "canary-judge/canary-judge"

type Config struct {
	// Address: one of the judge addresses the plugin's flags allow; empty means the default.
	Address string `json:"address"`
	// Timeout of the Analyze call, e.g. "15s"; capped by the plugin's --timeout.
	Timeout string `json:"timeout"`
	// Rollout: defaults to the AnalysisRun's owner and namespace.
	Rollout  RolloutConfig  `json:"rollout"`
	Selector SelectorConfig `json:"selector"`
	// Start: "canary-first-sample" (default) or RFC 3339.
	Start string `json:"start"`
	// Interval: analysis resolution, e.g. "60s" (default).
	Interval  string        `json:"interval"`
	FailBelow flexFloat     `json:"failBelow"`
	Checks    []CheckConfig `json:"checks"`
}

type RolloutConfig struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type SelectorConfig struct {
	// Mode: pod-hash (default), service or version.
	Mode string `json:"mode"`
	// Canary: in pod-hash mode defaults to the AnalysisRun's rollouts-pod-template-hash label.
	Canary string `json:"canary"`
	Stable string `json:"stable"`
}

type CheckConfig struct {
	// Type: error-rate or latency.
	Type             string    `json:"type"`
	Name             string    `json:"name"`
	Alpha            flexFloat `json:"alpha"`
	Margin           flexFloat `json:"margin"`
	CriticalEffect   flexFloat `json:"criticalEffect"`
	CriticalIncrease flexFloat `json:"criticalIncrease"`
	Power            flexFloat `json:"power"`
	Weight           flexFloat `json:"weight"`
	Critical         flexBool  `json:"critical"`
	// error-rate
	ErrorCodes    string `json:"errorCodes"`
	ResponseFlags string `json:"responseFlags"`
	// latency: exactly one
	Quantile    flexFloat `json:"quantile"`
	ThresholdMs flexFloat `json:"thresholdMs"`
}

// flexFloat is an optional number given as a JSON number or a numeric string.
type flexFloat struct {
	set bool
	v   float64
}

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*f = flexFloat{true, v}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%s is not a number", b)
	}
	*f = flexFloat{true, v}
	return nil
}

func (f flexFloat) ptr() *float64 {
	if !f.set {
		return nil
	}
	v := f.v
	return &v
}

// flexBool is an optional boolean given as true/false or "true"/"false".
type flexBool struct {
	set bool
	v   bool
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch strings.TrimSpace(s) {
		case "":
			return nil
		case "true":
			*f = flexBool{true, true}
		case "false":
			*f = flexBool{true, false}
		default:
			return fmt.Errorf("%q is not true or false", s)
		}
		return nil
	}
	var v bool
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%s is not true or false", b)
	}
	*f = flexBool{true, v}
	return nil
}

func (f flexBool) ptr() *bool {
	if !f.set {
		return nil
	}
	v := f.v
	return &v
}

// ParseConfig reads the plugin's entry of a metric's provider. Range checks are the judge's
// (one set of rules and messages): this only refuses what cannot be sent at all.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) == 0 {
		return c, fmt.Errorf("no plugin configuration in the metric (provider.plugin.%q: {...})", PluginName)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("plugin configuration: %w", err)
	}
	if len(c.Checks) == 0 {
		return c, fmt.Errorf("plugin configuration: checks: at least one check is required")
	}
	for i, ch := range c.Checks {
		switch ch.Type {
		case "error-rate":
			if ch.Quantile.set || ch.ThresholdMs.set {
				return c, fmt.Errorf("plugin configuration: checks[%d]: quantile and thresholdMs belong to latency checks", i)
			}
		case "latency":
			if ch.ErrorCodes != "" || ch.ResponseFlags != "" {
				return c, fmt.Errorf("plugin configuration: checks[%d]: errorCodes and responseFlags belong to error-rate checks", i)
			}
			if ch.Quantile.set == ch.ThresholdMs.set {
				return c, fmt.Errorf("plugin configuration: checks[%d]: a latency check needs exactly one of quantile and thresholdMs", i)
			}
		default:
			return c, fmt.Errorf("plugin configuration: checks[%d].type: %q is not error-rate or latency", i, ch.Type)
		}
	}
	switch c.Selector.Mode {
	case "", "pod-hash", "service", "version":
	default:
		return c, fmt.Errorf("plugin configuration: selector.mode: %q is not pod-hash, service or version", c.Selector.Mode)
	}
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("plugin configuration: timeout: %q is not a positive duration such as 15s", c.Timeout)
		}
	}
	return c, nil
}
