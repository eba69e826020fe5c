// The plugin.CA gRPC service over the provider: the wire (PEM or DER, state maps) on one side,
// x509 values on the other. The service description is written here rather than generated, so
// the build needs protoc-gen-go only.
package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "switchyard.dev/ca-plugin/pluginpb"
)

type caPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	provider *provider
}

func (p *caPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&caServiceDesc, p.provider)
	return nil
}

func (p *caPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("this example is a plugin, not a host")
}

func certOf(c *x509.Certificate) *pb.Certificate {
	return &pb.Certificate{CrtDer: c.Raw, CrtPem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))}
}

func derOf(der []byte, pemText string) []byte {
	if len(der) > 0 {
		return der
	}
	if b, _ := pem.Decode([]byte(pemText)); b != nil {
		return b.Bytes
	}
	return nil
}

// An error a host can tell from a broken plugin: the request cannot be served in this state.
func failed(err error) error {
	if err == nil {
		return nil
	}
	return status.Error(codes.FailedPrecondition, err.Error())
}

var empty = &emptypb.Empty{}

type handler[Req any, Resp any] func(p *provider, ctx context.Context, req *Req) (*Resp, error)

func method[Req any, Resp any](name string, fn handler[Req, Resp]) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(Req)
			if err := dec(in); err != nil {
				return nil, err
			}
			p := srv.(*provider)
			if ic == nil {
				return fn(p, ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/plugin.CA/" + name}
			return ic(ctx, in, info, func(ctx context.Context, req any) (any, error) { return fn(p, ctx, req.(*Req)) })
		},
	}
}

func certMethod[Req any](name string, fn func(p *provider, req *Req) (*x509.Certificate, error)) grpc.MethodDesc {
	return method(name, func(p *provider, _ context.Context, req *Req) (*pb.Certificate, error) {
		c, err := fn(p, req)
		if err != nil {
			return nil, failed(err)
		}
		return certOf(c), nil
	})
}

var caServiceDesc = grpc.ServiceDesc{
	ServiceName: "plugin.CA",
	HandlerType: (*any)(nil),
	Streams:     []grpc.StreamDesc{},
	Metadata:    "plugin/ca.proto",
	Methods: []grpc.MethodDesc{
		method("Configure", func(p *provider, _ context.Context, req *pb.ConfigureRequest) (*emptypb.Empty, error) {
			if err := p.configure(req.ClusterId, req.IsRoot, req.Datacenter, req.Config, req.State); err != nil {
				return nil, status.Error(codes.InvalidArgument, err.Error())
			}
			return empty, nil
		}),
		method("GenerateRoot", func(p *provider, _ context.Context, _ *emptypb.Empty) (*pb.GenerateRootResponse, error) {
			root, intermediates, err := p.generateRoot()
			if err != nil {
				return nil, failed(err)
			}
			out := &pb.GenerateRootResponse{RootDer: root.Raw}
			for _, c := range intermediates {
				out.IntermediatesDer = append(out.IntermediatesDer, c.Raw)
			}
			return out, nil
		}),
		certMethod("ActiveRoot", func(p *provider, _ *emptypb.Empty) (*x509.Certificate, error) { return p.activeRoot() }),
		method("GenerateIntermediateCSR", func(p *provider, _ context.Context, _ *emptypb.Empty) (*pb.GenerateIntermediateCSRResponse, error) {
			der, opaque, err := p.generateIntermediateCSR()
			if err != nil {
				return nil, failed(err)
			}
			return &pb.GenerateIntermediateCSRResponse{CsrDer: der, Opaque: opaque, CsrPem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))}, nil
		}),
		method("SetIntermediate", func(p *provider, _ context.Context, req *pb.SetIntermediateRequest) (*emptypb.Empty, error) {
			err := p.setIntermediate(derOf(req.IntermediateDer, req.IntermediatePem), derOf(req.RootDer, req.RootPem), req.Opaque)
			return empty, failed(err)
		}),
		certMethod("ActiveIntermediate", func(p *provider, _ *emptypb.Empty) (*x509.Certificate, error) { return p.activeSigningCert() }),
		certMethod("GenerateIntermediate", func(p *provider, _ *emptypb.Empty) (*x509.Certificate, error) { return p.activeSigningCert() }),
		certMethod("Sign", func(p *provider, req *pb.SignRequest) (*x509.Certificate, error) { return p.sign(req.Csr, req.TtlMs) }),
		certMethod("SignIntermediate", func(p *provider, req *pb.SignIntermediateRequest) (*x509.Certificate, error) { return p.signIntermediate(req.Csr) }),
		certMethod("CrossSignCA", func(p *provider, req *pb.CrossSignCARequest) (*x509.Certificate, error) { return p.crossSign(req.Crt) }),
		method("SupportsCrossSigning", func(*provider, context.Context, *emptypb.Empty) (*pb.SupportsCrossSigningResponse, error) {
			return &pb.SupportsCrossSigningResponse{SupportsCrossSigning: true}, nil
		}),
		method("Cleanup", func(p *provider, _ context.Context, _ *pb.CleanupRequest) (*emptypb.Empty, error) {
			p.cleanup()
			return empty, nil
		}),
		method("State", func(p *provider, _ context.Context, _ *emptypb.Empty) (*pb.StateResponse, error) {
			return &pb.StateResponse{State: p.state()}, nil
		}),
	},
}
