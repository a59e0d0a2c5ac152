// Process-wide options of the plugin, from its command-line flags (the `args` of its entry in
// argo-rollouts-config). Everything that touches credentials lives here, set by whoever runs
// the controller: a template in an application namespace can choose only among the judge
// addresses allowed here, so it can never send the token elsewhere or read a file of the
// controller's pod.
package provider

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultAddress is the judge's gRPC Service as deploy/canary-judge installs it.
const DefaultAddress = "canary-judge.canary-judge.svc.cluster.local:9090"

type Options struct {
	// Address is the judge's host:port used when a template names none.
	Address string
	// AllowedAddresses are the other addresses a template may name.
	AllowedAddresses []string
	// TokenFile and TokenEnv: where the bearer token is read at every call (a mounted Secret
	// is rotated in place). At most one; neither means no Authorization header.
	TokenFile string
	TokenEnv  string
	// TLS towards the judge: off (plaintext, inside the cluster network) unless set.
	TLS           bool
	TLSCAFile     string
	TLSServerName string
	// Timeout bounds one call to the judge unless the template asks for less.
	Timeout time.Duration
}

type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*s = append(*s, a)
		}
	}
	return nil
}

// flags declares the options on a new FlagSet that writes nothing (ParseFlags reports errors
// itself, Usage prints the list).
func flags(o *Options, allowed *stringList) *flag.FlagSet {
	fs := flag.NewFlagSet("canary-judge-metric-plugin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Address, "address", DefaultAddress, "the judge's gRPC `host:port`")
	fs.Var(allowed, "allow-address", "another judge `host:port` templates may name (repeatable, or comma-separated)")
	fs.StringVar(&o.TokenFile, "token-file", "", "`file` holding the judge's bearer token (read at every call)")
	fs.StringVar(&o.TokenEnv, "token-env", "", "environment `variable` holding the judge's bearer token")
	fs.BoolVar(&o.TLS, "tls", false, "call the judge over TLS")
	fs.StringVar(&o.TLSCAFile, "tls-ca-file", "", "PEM CA bundle for the judge's certificate (implies --tls)")
	fs.StringVar(&o.TLSServerName, "tls-server-name", "", "name expected in the judge's certificate (implies --tls)")
	fs.DurationVar(&o.Timeout, "timeout", 20*time.Second, "longest call to the judge")
	return fs
}

// Usage prints what the binary is, how it is run and what it reads itself (`--help`).
func Usage(w io.Writer) {
	fmt.Fprintf(w, `canary-judge-metric-plugin: the Argo Rollouts metric-provider plugin of canary-judge.

Argo Rollouts' controller runs this binary (registered in argo-rollouts-config, under
metricProviderPlugins, as %s) and speaks to it over its plugin RPC;
it is not meant to be run by hand. For each measurement it sends the metric's plugin
configuration, as the AnalysisRun holds it, to the judge's gRPC method
PluginService/AnalyzePluginConfig, with the AnalysisRun's name, namespace, controlling
Rollout, labels and non-secret arguments; the judge reads the configuration, and its verdict
becomes the measurement's phase.

Usage (the registration's args):
  canary-judge-metric-plugin [flags]
  canary-judge-metric-plugin --install DIR   copy this binary into DIR and exit
  canary-judge-metric-plugin --help          print this and exit

Flags:
`, PluginName)
	var o Options
	fs := flags(&o, &stringList{})
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, `
Keys of a metric's plugin configuration the plugin reads itself (every other key is the
judge's request, read by the judge: see plugins/README.md, "Configuration"):
  address   the judge to call: --address (default) or one of --allow-address
  timeout   how long to wait for the judge, such as 15s; at most --timeout
`)
}

// ParseFlags reads the options; every problem is reported, not only the first. `--help` gives
// flag.ErrHelp.
func ParseFlags(args []string) (Options, error) {
	o := Options{}
	allowed := stringList{}
	fs := flags(&o, &allowed)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.AllowedAddresses = allowed
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if err := checkAddress(o.Address); err != nil {
		problems = append(problems, "--address: "+err.Error())
	}
	for _, a := range o.AllowedAddresses {
		if err := checkAddress(a); err != nil {
			problems = append(problems, "--allow-address: "+err.Error())
		}
	}
	if o.TokenFile != "" && o.TokenEnv != "" {
		problems = append(problems, "--token-file and --token-env are exclusive")
	}
	if o.Timeout <= 0 {
		problems = append(problems, "--timeout must be positive")
	}
	if o.TLSCAFile != "" || o.TLSServerName != "" {
		o.TLS = true
	}
	if len(problems) > 0 {
		return o, errors.New(strings.Join(problems, "; "))
	}
	return o, nil
}

// allows reports whether a template may send this plugin's token to addr.
func (o Options) allows(addr string) bool {
	if addr == o.Address {
		return true
	}
	for _, a := range o.AllowedAddresses {
		if a == addr {
			return true
		}
	}
	return false
}

func checkAddress(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || port == "" || strings.ContainsAny(a, "/ ") {
		return fmt.Errorf("%q is not host:port", a)
	}
	return nil
}
