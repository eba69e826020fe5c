// xds-load: a load client for Switchyard that shares none of its code. It registers S backend
// services and N client services with sidecars through the HTTP API, opens N delta ADS streams
// that behave like Envoy's (wildcard CDS and LDS, then EDS, SDS and RDS for the names those
// reference, every response ACKed), spread over several gRPC connections, waits until every
// stream holds its configuration, and then times changes from the write to each stream's first
// and last response: one endpoint change, a mesh-wide proxy-defaults change, a roots rotation.
// Per phase it reports latency percentiles, bytes per stream, strays (streams the change does not
// concern that received something), the server's CPU seconds (from /proc/<pid>/stat) and its
// RSS, and the worst latency of an HTTP probe running throughout (an upper bound on the
// server's event-loop delay). The last line of output is the figures as one JSON object.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tls "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	status "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	// The resource types, and the typed configs Switchyard puts in Any fields, registered so
	// responses decode and the walk can open them (an unknown typed config is skipped).
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/clusters/aggregate/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/http_inspector/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/sni_cluster/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

const (
	typeCDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeLDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeEDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	typeRDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	typeSDS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
)

type config struct {
	httpAddr  string
	grpcAddr  string
	pid       int
	n         int
	backends  int
	upstreams int
	conns     int
	workers   int
	quiet     time.Duration
	deadline  time.Duration
	phases    string
}

// ---- the mesh plan -------------------------------------------------------------------------

func clientName(i int) string  { return fmt.Sprintf("client-%d", i) }
func backendName(j int) string { return fmt.Sprintf("backend-%d", j) }

// upstreamsOf spreads the clients evenly: client i uses u consecutive backends from i*7.
func upstreamsOf(cfg config, i int) []int {
	out := make([]int, 0, cfg.upstreams)
	for k := 0; k < cfg.upstreams; k++ {
		out = append(out, (i*7+k)%cfg.backends)
	}
	return out
}

// ---- HTTP ----------------------------------------------------------------------------------

var httpClient = &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func call(cfg config, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, cfg.httpAddr+path, rd)
	if err != nil {
		return nil, err
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func registration(name, id string, port, sidecarPort int, bindAddr string, ups []int) map[string]any {
	upstreams := make([]map[string]any, 0, len(ups))
	for k, j := range ups {
		upstreams = append(upstreams, map[string]any{"DestinationName": backendName(j), "LocalBindAddress": bindAddr, "LocalBindPort": 9001 + k})
	}
	return map[string]any{
		"Name": name, "ID": id, "Address": "127.0.0.1", "Port": port,
		"Connect": map[string]any{"SidecarService": map[string]any{"Port": sidecarPort, "Proxy": map[string]any{"Upstreams": upstreams}}},
	}
}

// parallel runs f(0..n-1) on `workers` goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || first.Load() != nil {
					return
				}
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

func register(cfg config) error {
	// Explicit ports: backends' sidecars at 21000+, clients' at 31000+ (the automatic range holds
	// 256); every client binds its upstreams on its own loopback address, so no two sidecars of
	// the node claim the same address and port.
	if err := parallel(cfg.backends, cfg.workers, func(j int) error {
		_, err := call(cfg, "PUT", "/v1/agent/service/register", registration(backendName(j), backendName(j), 8080, 21000+j, "", nil))
		return err
	}); err != nil {
		return err
	}
	return parallel(cfg.n, cfg.workers, func(i int) error {
		bind := fmt.Sprintf("127.%d.%d.%d", 1+i/65536, (i/256)%256, i%256)
		_, err := call(cfg, "PUT", "/v1/agent/service/register", registration(clientName(i), clientName(i), 9000, 31000+i, bind, upstreamsOf(cfg, i)))
		return err
	})
}

// ---- the server process --------------------------------------------------------------------

func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// memKB reads VmRSS and VmHWM (peak RSS) of the process, in KiB.
func memKB(pid int) (rss, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			peak = v
		}
	}
	return rss, peak
}

// probe times a cheap HTTP request every 50 ms; worst() is the longest since the last reset.
type probe struct {
	mu    sync.Mutex
	worst time.Duration
}

func (p *probe) run(ctx context.Context, cfg config) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			start := time.Now()
			_, _ = call(cfg, "GET", "/v1/status/leader", nil)
			d := time.Since(start)
			p.mu.Lock()
			if d > p.worst {
				p.worst = d
			}
			p.mu.Unlock()
		}
	}
}

func (p *probe) take() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.worst
	p.worst = 0
	return w
}

// ---- one Envoy-like delta ADS stream -------------------------------------------------------

type event struct {
	at    time.Time
	typ   string
	bytes int
	names []string
}

type stream struct {
	id     string
	client int
	conn   *grpc.ClientConn
	cancel context.CancelFunc

	mu         sync.Mutex
	have       map[string]map[string]string        // type -> name -> version
	bodies     map[string]map[string]proto.Message // decoded Clusters and Listeners held
	wanted     map[string]map[string]bool          // EDS, SDS and RDS names subscribed
	events     []event
	configured chan struct{}
	done       bool
	err        error
}

func newStream(client int, conn *grpc.ClientConn) *stream {
	return &stream{id: clientName(client) + "-sidecar-proxy", client: client, conn: conn}
}

func (s *stream) start() {
	s.mu.Lock()
	s.have = map[string]map[string]string{}
	s.bodies = map[string]map[string]proto.Message{typeCDS: {}, typeLDS: {}}
	s.wanted = map[string]map[string]bool{typeEDS: {}, typeSDS: {}, typeRDS: {}}
	s.events = nil
	s.configured = make(chan struct{})
	s.done = false
	s.err = nil
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(ctx)
}

func (s *stream) stop() {
	if s.cancel != nil {
		s.cancel()
	}
}

func (s *stream) run(ctx context.Context) {
	ads, err := discovery.NewAggregatedDiscoveryServiceClient(s.conn).DeltaAggregatedResources(ctx)
	if err != nil {
		s.fail(err)
		return
	}
	node := &core.Node{Id: s.id, Cluster: clientName(s.client), UserAgentName: "envoy"}
	send := func(r *discovery.DeltaDiscoveryRequest) {
		if err := ads.Send(r); err != nil && ctx.Err() == nil {
			s.fail(err)
		}
	}
	send(&discovery.DeltaDiscoveryRequest{Node: node, TypeUrl: typeCDS})
	send(&discovery.DeltaDiscoveryRequest{Node: node, TypeUrl: typeLDS})
	for {
		res, err := ads.Recv()
		if err != nil {
			if ctx.Err() == nil {
				s.fail(err)
			}
			return
		}
		changes, err := s.apply(time.Now(), res)
		if err != nil {
			send(&discovery.DeltaDiscoveryRequest{TypeUrl: res.TypeUrl, ResponseNonce: res.Nonce, ErrorDetail: &status.Status{Code: 3, Message: err.Error()}})
			continue
		}
		send(&discovery.DeltaDiscoveryRequest{TypeUrl: res.TypeUrl, ResponseNonce: res.Nonce})
		for _, c := range changes {
			send(c)
		}
	}
}

func (s *stream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *stream) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// apply records a response and returns the subscription changes it causes, as Envoy makes them
// when a Cluster or Listener starts or stops referring to an EDS, SDS or RDS name.
func (s *stream) apply(now time.Time, res *discovery.DeltaDiscoveryResponse) ([]*discovery.DeltaDiscoveryRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.have[res.TypeUrl]
	if held == nil {
		held = map[string]string{}
		s.have[res.TypeUrl] = held
	}
	names := make([]string, 0, len(res.Resources)+len(res.RemovedResources))
	bodies := s.bodies[res.TypeUrl]
	for _, r := range res.Resources {
		if bodies != nil {
			m, err := r.Resource.UnmarshalNew()
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", res.TypeUrl, r.Name, err)
			}
			bodies[r.Name] = m
		}
		held[r.Name] = r.Version
		names = append(names, r.Name)
	}
	for _, n := range res.RemovedResources {
		delete(held, n)
		if bodies != nil {
			delete(bodies, n)
		}
		names = append(names, n)
	}
	s.events = append(s.events, event{at: now, typ: res.TypeUrl, bytes: proto.Size(res), names: names})
	lastEvent.Store(now.UnixNano())

	var changes []*discovery.DeltaDiscoveryRequest
	if bodies != nil && s.have[typeCDS] != nil && s.have[typeLDS] != nil {
		refs := s.refs()
		for _, typ := range []string{typeEDS, typeSDS, typeRDS} {
			var sub, unsub []string
			for n := range refs[typ] {
				if !s.wanted[typ][n] {
					s.wanted[typ][n] = true
					sub = append(sub, n)
				}
			}
			for n := range s.wanted[typ] {
				if !refs[typ][n] {
					delete(s.wanted[typ], n)
					unsub = append(unsub, n)
				}
			}
			if len(sub)+len(unsub) > 0 {
				changes = append(changes, &discovery.DeltaDiscoveryRequest{TypeUrl: typ, ResourceNamesSubscribe: sub, ResourceNamesUnsubscribe: unsub})
			}
		}
	}
	if !s.done && s.complete() {
		s.done = true
		close(s.configured)
	}
	return changes, nil
}

// complete: Clusters and Listeners received, and every name they refer to held.
func (s *stream) complete() bool {
	if s.have[typeCDS] == nil || s.have[typeLDS] == nil {
		return false
	}
	for typ, names := range s.wanted {
		for n := range names {
			if _, ok := s.have[typ][n]; !ok {
				return false
			}
		}
	}
	return true
}

// refs collects the EDS, SDS and RDS names the held Clusters and Listeners refer to.
func (s *stream) refs() map[string]map[string]bool {
	refs := map[string]map[string]bool{typeEDS: {}, typeSDS: {}, typeRDS: {}}
	for _, m := range s.bodies[typeCDS] {
		c := m.(*cluster.Cluster)
		if c.GetType() == cluster.Cluster_EDS {
			name := c.GetEdsClusterConfig().GetServiceName()
			if name == "" {
				name = c.Name
			}
			refs[typeEDS][name] = true
		}
		walk(c.ProtoReflect(), refs)
	}
	for _, m := range s.bodies[typeLDS] {
		walk(m.ProtoReflect(), refs)
	}
	return refs
}

// walk finds SdsSecretConfig and Rds messages anywhere in m, opening Any fields.
func walk(m protoreflect.Message, refs map[string]map[string]bool) {
	switch v := m.Interface().(type) {
	case *tls.SdsSecretConfig:
		refs[typeSDS][v.Name] = true
		return
	case *hcm.Rds:
		refs[typeRDS][v.RouteConfigName] = true
		return
	case *anypb.Any:
		if inner, err := v.UnmarshalNew(); err == nil {
			walk(inner.ProtoReflect(), refs)
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		switch {
		case fd.IsList():
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message(), refs)
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				val.Map().Range(func(_ protoreflect.MapKey, v protoreflect.Value) bool {
					walk(v.Message(), refs)
					return true
				})
			}
		default:
			walk(val.Message(), refs)
		}
		return true
	})
}

// since returns the stream's responses at or after t.
func (s *stream) since(t time.Time) []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.events), func(i int) bool { return !s.events[i].at.Before(t) })
	return append([]event(nil), s.events[i:]...)
}

// version of one held resource.
func (s *stream) version(typ, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.have[typ][name]
}

func (s *stream) names(typ string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.have[typ]))
	for n := range s.have[typ] {
		out = append(out, n)
	}
	return out
}

// ---- the fleet and its phases --------------------------------------------------------------

type fleet struct {
	cfg     config
	conns   []*grpc.ClientConn
	streams []*stream
	probe   *probe
}

// connect starts the streams and waits until each holds its configuration.
func (f *fleet) connect(streams []*stream) (time.Duration, error) {
	t0 := time.Now()
	for _, s := range streams {
		s.start()
	}
	deadline := time.After(f.cfg.deadline)
	for _, s := range streams {
		select {
		case <-s.configured:
		case <-deadline:
			n := 0
			var last error
			for _, s := range streams {
				select {
				case <-s.configured:
				default:
					n++
					if err := s.failure(); err != nil {
						last = err
					}
				}
			}
			return 0, fmt.Errorf("%d of %d streams not configured within %s (last stream error: %v)", n, len(streams), f.cfg.deadline, last)
		}
	}
	return time.Since(t0), nil
}

type phase struct {
	Name         string  `json:"name"`
	Expected     int     `json:"expected"`
	Reached      int     `json:"reached"`
	FirstP50     float64 `json:"first_p50_ms"`
	FirstP99     float64 `json:"first_p99_ms"`
	LastP50      float64 `json:"last_p50_ms"`
	LastP99      float64 `json:"last_p99_ms"`
	LastMax      float64 `json:"last_max_ms"`
	BytesPer     float64 `json:"bytes_per_stream"`
	Strays       int     `json:"strays"`
	CPUSeconds   float64 `json:"server_cpu_s"`
	CPUPerProxy  float64 `json:"server_cpu_ms_per_proxy"`
	RSSMB        float64 `json:"server_rss_mb"`
	ProbeWorstMs float64 `json:"http_probe_worst_ms"`
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

var lastEvent atomic.Int64 // unix nanos of the newest response any stream received

// change times one write: `concerns` says which streams it is for, `reached` when a stream's
// responses since the write show the change; with `settle` the phase also waits until no stream
// has received anything for cfg.quiet, and a stream's last response is its last one by then.
func (f *fleet) change(name string, concerns func(*stream) bool, write func() error, reached func([]event) (int, bool), settle bool) (phase, error) {
	f.probe.take()
	cpu0 := cpuSeconds(f.cfg.pid)
	t0 := time.Now()
	if err := write(); err != nil {
		return phase{}, fmt.Errorf("%s: %w", name, err)
	}
	var expected []*stream
	for _, s := range f.streams {
		if concerns(s) {
			expected = append(expected, s)
		}
	}
	deadline := t0.Add(f.cfg.deadline)
	for {
		time.Sleep(20 * time.Millisecond) // polling the client's own state, not waiting on the server
		all := true
		for _, s := range expected {
			if _, ok := reached(s.since(t0)); !ok {
				all = false
				break
			}
		}
		quiet := time.Since(time.Unix(0, lastEvent.Load())) >= f.cfg.quiet
		if all && (!settle || quiet) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
	}
	cpu := cpuSeconds(f.cfg.pid) - cpu0
	rss, _ := memKB(f.cfg.pid)
	p := phase{Name: name, Expected: len(expected), CPUSeconds: cpu, RSSMB: float64(rss) / 1024, ProbeWorstMs: ms(f.probe.take())}
	var firsts, lasts []float64
	total := 0
	for _, s := range f.streams {
		evs := s.since(t0)
		if !concerns(s) {
			if len(evs) > 0 {
				p.Strays++
			}
			continue
		}
		upto, ok := reached(evs)
		if !ok {
			continue
		}
		p.Reached++
		if settle {
			upto = len(evs) - 1
		}
		firsts = append(firsts, ms(evs[0].at.Sub(t0)))
		lasts = append(lasts, ms(evs[upto].at.Sub(t0)))
		for _, e := range evs[:upto+1] {
			total += e.bytes
		}
	}
	p.FirstP50, p.FirstP99 = pct(firsts, 50), pct(firsts, 99)
	p.LastP50, p.LastP99, p.LastMax = pct(lasts, 50), pct(lasts, 99), pct(lasts, 100)
	if p.Reached > 0 {
		p.BytesPer = float64(total) / float64(p.Reached)
		p.CPUPerProxy = cpu * 1000 / float64(p.Reached)
	}
	if p.Reached < p.Expected {
		return p, fmt.Errorf("%s: %d of %d streams saw the change within %s", name, p.Reached, p.Expected, f.cfg.deadline)
	}
	return p, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// firstOf: the index of the first event of type typ naming something that `match` accepts.
func firstOf(typ string, match func(string) bool) func([]event) (int, bool) {
	return func(evs []event) (int, bool) {
		for i, e := range evs {
			if e.typ != typ {
				continue
			}
			for _, n := range e.names {
				if match(n) {
					return i, true
				}
			}
		}
		return 0, false
	}
}

// rotateRoots changes the built-in CA's key size, which makes it generate a new root.
func rotateRoots(cfg config) error {
	body, err := call(cfg, "GET", "/v1/connect/ca/configuration", nil)
	if err != nil {
		return err
	}
	var ca struct {
		Provider string
		Config   map[string]any
	}
	if err := json.Unmarshal(body, &ca); err != nil {
		return err
	}
	bits := 384.0
	if b, _ := ca.Config["PrivateKeyBits"].(float64); b == 384 {
		bits = 256
	}
	ca.Config["PrivateKeyType"], ca.Config["PrivateKeyBits"] = "ec", bits
	_, err = call(cfg, "PUT", "/v1/connect/ca/configuration", map[string]any{"Provider": ca.Provider, "Config": ca.Config})
	return err
}

type report struct {
	N                int     `json:"n"`
	Backends         int     `json:"backends"`
	Upstreams        int     `json:"upstreams"`
	Conns            int     `json:"connections"`
	RegisterS        float64 `json:"register_s"`
	ConnectS         float64 `json:"initial_convergence_s"`
	ReconnectS       float64 `json:"reconnect_convergence_s"`
	MarginalKB       float64 `json:"marginal_kb_per_proxy"`
	RSSMB            float64 `json:"server_rss_mb"`
	PeakRSSMB        float64 `json:"server_peak_rss_mb"`
	ConnectCPUS      float64 `json:"initial_convergence_cpu_s"`
	ConnectProbeMs   float64 `json:"initial_convergence_http_probe_worst_ms"`
	ReconnectProbeMs float64 `json:"reconnect_http_probe_worst_ms"`
	Phases           []phase `json:"phases"`
}

func run(cfg config) (*report, error) {
	r := &report{N: cfg.n, Backends: cfg.backends, Upstreams: cfg.upstreams, Conns: cfg.conns}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := call(cfg, "GET", "/v1/status/leader", nil); err == nil {
			break
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("the agent at %s did not answer: %w", cfg.httpAddr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t := time.Now()
	if err := register(cfg); err != nil {
		return nil, fmt.Errorf("registering: %w", err)
	}
	r.RegisterS = time.Since(t).Seconds()
	fmt.Printf("registered %d backends and %d clients with sidecars in %.1f s\n", cfg.backends, cfg.n, r.RegisterS)

	f := &fleet{cfg: cfg, probe: &probe{}}
	for c := 0; c < cfg.conns; c++ {
		conn, err := grpc.NewClient(cfg.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
		if err != nil {
			return nil, err
		}
		f.conns = append(f.conns, conn)
	}
	for i := 0; i < cfg.n; i++ {
		f.streams = append(f.streams, newStream(i, f.conns[i%cfg.conns]))
	}
	ctx, stopProbe := context.WithCancel(context.Background())
	defer stopProbe()
	go f.probe.run(ctx, cfg)

	// Initial convergence (leaves signed on demand, at the CA's CSR rate), in two halves so the
	// second half's memory is the marginal cost of a connected proxy.
	cpu0 := cpuSeconds(cfg.pid)
	half := cfg.n / 2
	d1, err := f.connect(f.streams[:half])
	if err != nil {
		return nil, err
	}
	rssHalf, _ := memKB(cfg.pid)
	d2, err := f.connect(f.streams[half:])
	if err != nil {
		return nil, err
	}
	rssFull, peak := memKB(cfg.pid)
	r.ConnectS = (d1 + d2).Seconds()
	r.ConnectCPUS = cpuSeconds(cfg.pid) - cpu0
	r.ConnectProbeMs = ms(f.probe.take())
	r.MarginalKB = float64(rssFull-rssHalf) / float64(cfg.n-half)
	fmt.Printf("initial convergence: %d streams configured in %.1f s (%.1f s server CPU); RSS %.0f MB at %d streams, %.0f MB at %d: %.1f KB per proxy\n",
		cfg.n, r.ConnectS, r.ConnectCPUS, float64(rssHalf)/1024, half, float64(rssFull)/1024, cfg.n, r.MarginalKB)

	// Every stream again, the leaves now signed: what a restart of every Envoy costs.
	for _, s := range f.streams {
		s.stop()
	}
	d, err := f.connect(f.streams)
	if err != nil {
		return nil, fmt.Errorf("reconnecting: %w", err)
	}
	r.ReconnectS = d.Seconds()
	r.ReconnectProbeMs = ms(f.probe.take())
	fmt.Printf("reconnect (leaves signed): %d streams configured in %.1f s\n", cfg.n, r.ReconnectS)

	usesBackend0 := func(s *stream) bool {
		for _, j := range upstreamsOf(cfg, s.client) {
			if j == 0 {
				return true
			}
		}
		return false
	}
	everyone := func(*stream) bool { return true }
	phases := []struct {
		key      string
		name     string
		concerns func(*stream) bool
		write    func() error
		reached  func([]event) (int, bool)
		settle   bool
	}{
		{"endpoint", "endpoint change (a backend-0 instance added)", usesBackend0, func() error {
			_, err := call(cfg, "PUT", "/v1/agent/service/register", registration(backendName(0), "backend-0-b", 8081, 21000+cfg.backends, "", nil))
			return err
		}, firstOf(typeEDS, func(n string) bool { return strings.HasPrefix(n, backendName(0)+".") }), true},
		{"proxy-defaults", "mesh-wide proxy-defaults (protocol http)", everyone, func() error {
			_, err := call(cfg, "PUT", "/v1/config", map[string]any{"Kind": "proxy-defaults", "Name": "global", "Config": map[string]any{"protocol": "http"}})
			return err
		}, firstOf(typeLDS, func(string) bool { return true }), true},
		{"roots", "roots rotation (to the new root's trust bundle)", everyone, func() error { return rotateRoots(cfg) },
			firstOf(typeSDS, func(n string) bool { return !strings.HasPrefix(n, "leaf:") }), false},
	}
	for _, ph := range phases {
		if !strings.Contains(","+cfg.phases+",", ","+ph.key+",") {
			continue
		}
		p, err := f.change(ph.name, ph.concerns, ph.write, ph.reached, ph.settle)
		fmt.Printf("%s: %d/%d streams, first p50 %.1f p99 %.1f ms, last p50 %.1f p99 %.1f max %.1f ms, %.0f bytes/stream, %d strays, server CPU %.2f s (%.3f ms/proxy), RSS %.0f MB, HTTP probe worst %.1f ms\n",
			p.Name, p.Reached, p.Expected, p.FirstP50, p.FirstP99, p.LastP50, p.LastP99, p.LastMax, p.BytesPer, p.Strays, p.CPUSeconds, p.CPUPerProxy, p.RSSMB, p.ProbeWorstMs)
		r.Phases = append(r.Phases, p)
		if err != nil {
			return r, err
		}
	}
	for _, s := range f.streams {
		if err := s.failure(); err != nil {
			return r, fmt.Errorf("stream %s failed: %w", s.id, err)
		}
	}
	rss, peakNow := memKB(cfg.pid)
	if peakNow > peak {
		peak = peakNow
	}
	r.RSSMB, r.PeakRSSMB = float64(rss)/1024, float64(peak)/1024
	return r, nil
}

func main() {
	var cfg config
	flag.StringVar(&cfg.httpAddr, "http", "http://127.0.0.1:8500", "the agent's HTTP API")
	flag.StringVar(&cfg.grpcAddr, "grpc", "127.0.0.1:8502", "the agent's xDS port")
	flag.IntVar(&cfg.pid, "pid", 0, "the agent's process id (CPU seconds and RSS from /proc)")
	flag.IntVar(&cfg.n, "n", 1000, "client services, each with a sidecar and one delta ADS stream")
	flag.IntVar(&cfg.backends, "backends", 50, "backend services the clients call")
	flag.IntVar(&cfg.upstreams, "upstreams", 3, "upstreams per client")
	flag.IntVar(&cfg.conns, "conns", 16, "gRPC connections the streams are spread over")
	flag.IntVar(&cfg.workers, "workers", 16, "concurrent registrations")
	flag.DurationVar(&cfg.quiet, "quiet", time.Second, "a change has settled when no stream received anything for this long")
	flag.DurationVar(&cfg.deadline, "deadline", 5*time.Minute, "the longest a phase may take")
	flag.StringVar(&cfg.phases, "phases", "endpoint,proxy-defaults,roots", "the changes to time, comma-separated")
	flag.Parse()
	if cfg.n < 2 || cfg.backends < 1 || cfg.upstreams < 1 || cfg.upstreams > cfg.backends || cfg.conns < 1 {
		fmt.Fprintln(os.Stderr, "xds-load: need -n >= 2, -backends >= 1, 1 <= -upstreams <= -backends, -conns >= 1")
		os.Exit(2)
	}
	r, err := run(cfg)
	if r != nil {
		b, _ := json.Marshal(r)
		fmt.Printf("RESULT %s\n", b)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xds-load:", err)
		os.Exit(1)
	}
}
