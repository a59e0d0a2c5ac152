// canary-judge-metric-plugin: the Argo Rollouts metric-provider plugin of canary-judge. The
// controller starts it (it is registered in argo-rollouts-config as canary-judge/canary-judge)
// and calls it over hashicorp go-plugin's net/rpc transport; each measurement becomes one gRPC
// Analyze call to the judge, and the judge's verdict becomes the measurement's phase. All the
// judging stays in the judge: this binary only translates.
//
// Its flags come from the registration's `args` (controller administrators), never from a
// template: the judge's address, TLS, and where the bearer token is read (a file mounted from a
// Secret of the controller's namespace, or an environment variable of the controller).
package main

import (
	"flag"
	"fmt"
	"os"

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
	opts, err := provider.ParseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
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
