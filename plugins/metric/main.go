// canary-judge-metric-plugin: the Argo Rollouts metric-provider plugin of canary-judge. The
// controller starts it (it is registered in argo-rollouts-config as canary-judge/canary-judge)
// and calls it over hashicorp go-plugin's net/rpc transport; each measurement becomes one gRPC
// AnalyzePluginConfig call to the judge carrying the metric's plugin configuration as given, and
// the judge's verdict becomes the measurement's phase. All the judging, and the reading of the
// request, stays in the judge: this binary only forwards. `--help` prints its usage.
//
// Its flags come from the registration's `args` (controller administrators), never from a
// template: the judge's address, TLS, and where the bearer token is read (a file mounted from a
// Secret of the controller's namespace, or an environment variable of the controller).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"
	goplugin "github.com/hashicorp/go-plugin"

	"canary-judge/plugins/metric/internal/provider"
)

// The handshake Argo's plugin client expects of a metric provider (metricproviders/plugin/client):
// protocol 1 and this cookie, which go-plugin checks before anything else.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
	MagicCookieValue: "metricprovider",
}

func main() {
	// `--install DIR`: copy this binary into DIR and exit. An init container runs it from the judge's
	// image to fill a volume the controller then loads the plugin from (file:// location).
	if len(os.Args) == 3 && os.Args[1] == "--install" {
		if err := install(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "canary-judge-metric-plugin: install:", err)
			os.Exit(1)
		}
		return
	}
	opts, err := provider.ParseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			provider.Usage(os.Stdout)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "canary-judge-metric-plugin:", err)
		os.Exit(2)
	}
	impl := provider.New(opts)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: handshake,
		// Argo dispenses the plugin under this key.
		Plugins: map[string]goplugin.Plugin{
			"RpcMetricProviderPlugin": &rpc.RpcMetricProviderPlugin{Impl: impl},
		},
	})
}

// install copies the running executable into dir under its own name, readable and executable.
func install(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer src.Close()
	dst := filepath.Join(dir, filepath.Base(self))
	out, err := os.OpenFile(dst+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(dst+".tmp", dst)
}
