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
	// Timeout bounds one Analyze call unless the template asks for less.
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

// ParseFlags reads the options; every problem is reported, not only the first.
func ParseFlags(args []string) (Options, error) {
	o := Options{}
	fs := flag.NewFlagSet("canary-judge-metric-plugin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Address, "address", DefaultAddress, "the judge's gRPC host:port")
	allowed := stringList{}
	fs.Var(&allowed, "allow-address", "another judge host:port templates may name (repeatable, or comma-separated)")
	fs.StringVar(&o.TokenFile, "token-file", "", "file holding the judge's bearer token (read at every call)")
	fs.StringVar(&o.TokenEnv, "token-env", "", "environment variable holding the judge's bearer token")
	fs.BoolVar(&o.TLS, "tls", false, "call the judge over TLS")
	fs.StringVar(&o.TLSCAFile, "tls-ca-file", "", "PEM CA bundle for the judge's certificate (implies --tls)")
	fs.StringVar(&o.TLSServerName, "tls-server-name", "", "name expected in the judge's certificate (implies --tls)")
	fs.DurationVar(&o.Timeout, "timeout", 20*time.Second, "longest Analyze call")
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
