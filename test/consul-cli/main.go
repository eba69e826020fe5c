// A Consul CLI (v1.14.11, MPL-2.0) holding only the commands whose endpoints Switchyard serves;
// built by scripts/consul-cli.mjs into .tools and run by test/e2e/consul-cli.test.ts.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	mcli "github.com/mitchellh/cli"

	"github.com/hashicorp/consul/command/catalog"
	catlistdc "github.com/hashicorp/consul/command/catalog/list/dc"
	catlistnodes "github.com/hashicorp/consul/command/catalog/list/nodes"
	catlistsvc "github.com/hashicorp/consul/command/catalog/list/services"
	"github.com/hashicorp/consul/command/cli"
	"github.com/hashicorp/consul/command/config"
	configdelete "github.com/hashicorp/consul/command/config/delete"
	configlist "github.com/hashicorp/consul/command/config/list"
	configread "github.com/hashicorp/consul/command/config/read"
	configwrite "github.com/hashicorp/consul/command/config/write"
	"github.com/hashicorp/consul/command/connect/ca"
	caget "github.com/hashicorp/consul/command/connect/ca/get"
	caset "github.com/hashicorp/consul/command/connect/ca/set"
	"github.com/hashicorp/consul/command/connect/envoy"
	"github.com/hashicorp/consul/command/intention"
	ixncheck "github.com/hashicorp/consul/command/intention/check"
	ixncreate "github.com/hashicorp/consul/command/intention/create"
	ixndelete "github.com/hashicorp/consul/command/intention/delete"
	ixnget "github.com/hashicorp/consul/command/intention/get"
	ixnlist "github.com/hashicorp/consul/command/intention/list"
	ixnmatch "github.com/hashicorp/consul/command/intention/match"
	"github.com/hashicorp/consul/command/members"
	"github.com/hashicorp/consul/command/services"
	svcsderegister "github.com/hashicorp/consul/command/services/deregister"
	svcsregister "github.com/hashicorp/consul/command/services/register"
	"github.com/hashicorp/consul/command/watch"
)

func main() {
	log.SetOutput(io.Discard)
	ui := &cli.BasicUI{BasicUi: mcli.BasicUi{Writer: os.Stdout, ErrorWriter: os.Stderr}}
	shutdown := make(chan struct{})
	f := func(c mcli.Command) mcli.CommandFactory { return func() (mcli.Command, error) { return c, nil } }
	cmds := map[string]mcli.CommandFactory{
		"catalog": f(catalog.New()), "catalog datacenters": f(catlistdc.New(ui)), "catalog nodes": f(catlistnodes.New(ui)), "catalog services": f(catlistsvc.New(ui)),
		"config": f(config.New()), "config delete": f(configdelete.New(ui)), "config list": f(configlist.New(ui)), "config read": f(configread.New(ui)), "config write": f(configwrite.New(ui)),
		"connect ca": f(ca.New()), "connect ca get-config": f(caget.New(ui)), "connect ca set-config": f(caset.New(ui)), "connect envoy": f(envoy.New(ui)),
		"intention": f(intention.New()), "intention check": f(ixncheck.New(ui)), "intention create": f(ixncreate.New(ui)), "intention delete": f(ixndelete.New(ui)), "intention get": f(ixnget.New(ui)), "intention list": f(ixnlist.New(ui)), "intention match": f(ixnmatch.New(ui)),
		"members": f(members.New(ui)), "services": f(services.New()), "services register": f(svcsregister.New(ui)), "services deregister": f(svcsderegister.New(ui)),
		"watch": f(watch.New(ui, shutdown)),
	}
	c := &mcli.CLI{Args: os.Args[1:], Commands: cmds, Name: "consul", HelpWriter: os.Stdout, ErrorWriter: os.Stderr}
	code, err := c.Run()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
