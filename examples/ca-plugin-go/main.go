// An example CA provider plugin in Go for Switchyard (and, on the same wire, for Consul's CA
// plugin protocol): go-plugin serves the plugin.CA gRPC service with go-plugin's handshake,
// AutoMTLS, health, controller and stdio services; provider.go is the CA, Go's crypto/x509.
//
// Built by scripts/ca-plugin-go.mjs into .tools/ca-plugin-go/ (pluginpb is generated there from
// proto/plugin/ca.proto, never committed). Configure Switchyard with
//
//	{"Provider": "plugin", "Config": {"plugin_cmd": ".tools/ca-plugin-go/ca-plugin-go"}}
package main

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// The handshake of Consul's CA plugins: a plugin serves a host that sets this cookie.
var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "CONSUL_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "f31f63b28fa82a3cdb30a6284cb1e50e3a13b7e60ba105a2c91219da319d216c",
}

func main() {
	logger := hclog.New(&hclog.LoggerOptions{Name: "ca-plugin-go", Level: hclog.Debug, Output: os.Stderr, JSONFormat: true})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         plugin.PluginSet{"ca": &caPlugin{provider: newProvider(logger)}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}
