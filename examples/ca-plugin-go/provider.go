// The CA itself, with Go's crypto/x509: a root (primary) or an intermediate signed by the
// primary (secondary), leaves with the CSR's SPIFFE URI, intermediates for secondaries (path
// length 0) and cross-signed roots for rotation. Its keys live in the state the host persists,
// so a restarted plugin resumes the same CA.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// The Config keys this plugin reads (the host's common CA settings); plugin_data is its own.
type settings struct {
	PrivateKeyType      string          `json:"PrivateKeyType"`
	PrivateKeyBits      int             `json:"PrivateKeyBits"`
	RootCertTTL         string          `json:"RootCertTTL"`
	IntermediateCertTTL string          `json:"IntermediateCertTTL"`
	PluginData          json.RawMessage `json:"plugin_data"`
}

type provider struct {
	log hclog.Logger

	mu         sync.Mutex
	clusterID  string
	isRoot     bool
	datacenter string
	cfg        settings
	rootTTL    time.Duration
	interTTL   time.Duration

	root       *x509.Certificate
	signing    *x509.Certificate
	key        crypto.Signer
	pendingKey crypto.Signer
}

func newProvider(log hclog.Logger) *provider { return &provider{log: log} }

func (p *provider) trustDomain() string { return p.clusterID + ".consul" }

func (p *provider) configure(clusterID string, isRoot bool, dc string, raw []byte, state map[string]string) error {
	var cfg settings
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return fmt.Errorf("config is not a JSON object: %w", err)
		}
	}
	rootTTL, err := durationOr(cfg.RootCertTTL, 87600*time.Hour, "RootCertTTL")
	if err != nil {
		return err
	}
	interTTL, err := durationOr(cfg.IntermediateCertTTL, 8760*time.Hour, "IntermediateCertTTL")
	if err != nil {
		return err
	}
	if _, err := newKey(cfg); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clusterID, p.isRoot, p.datacenter, p.cfg, p.rootTTL, p.interTTL = clusterID, isRoot, dc, cfg, rootTTL, interTTL
	p.root, p.signing, p.key, p.pendingKey = nil, nil, nil, nil
	if err := p.resume(state); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	p.log.Info("configured", "cluster_id", clusterID, "primary", isRoot, "datacenter", dc, "resumed", p.signing != nil)
	// What the plugin's code prints reaches the host over go-plugin's GRPCStdio.
	fmt.Println("ca-plugin-go: configured for cluster", clusterID)
	return nil
}

func durationOr(s string, def time.Duration, name string) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func newKey(cfg settings) (crypto.Signer, error) {
	switch {
	case cfg.PrivateKeyType == "" || cfg.PrivateKeyType == "ec":
		switch cfg.PrivateKeyBits {
		case 0, 256:
			return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case 384:
			return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		}
	case cfg.PrivateKeyType == "rsa":
		switch cfg.PrivateKeyBits {
		case 0, 2048, 4096:
			bits := cfg.PrivateKeyBits
			if bits == 0 {
				bits = 2048
			}
			return rsa.GenerateKey(rand.Reader, bits)
		}
	}
	return nil, fmt.Errorf("PrivateKeyType %q with PrivateKeyBits %d is not supported", cfg.PrivateKeyType, cfg.PrivateKeyBits)
}

func (p *provider) resume(state map[string]string) error {
	get := func(k string) ([]byte, error) { return base64.StdEncoding.DecodeString(state[k]) }
	if state["signingKey"] == "" {
		return nil
	}
	keyDer, err := get("signingKey")
	if err != nil {
		return err
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDer)
	if err != nil {
		return err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return errors.New("signingKey is not a signing key")
	}
	certDer, err := get("signingCert")
	if err != nil {
		return err
	}
	rootDer, err := get("rootCert")
	if err != nil {
		return err
	}
	if p.signing, err = x509.ParseCertificate(certDer); err != nil {
		return err
	}
	if p.root, err = x509.ParseCertificate(rootDer); err != nil {
		return err
	}
	p.key = signer
	return nil
}

func (p *provider) state() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key == nil {
		return map[string]string{}
	}
	keyDer, err := x509.MarshalPKCS8PrivateKey(p.key)
	if err != nil {
		p.log.Error("cannot encode the signing key", "error", err)
		return map[string]string{}
	}
	enc := base64.StdEncoding.EncodeToString
	return map[string]string{"signingKey": enc(keyDer), "signingCert": enc(p.signing.Raw), "rootCert": enc(p.root.Raw)}
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// The key identifier of RFC 5280 4.2.1.2 (1): the SHA-1 of the subjectPublicKey bits, as Go's
// own x509 and the built-in provider compute it, so chains built across providers match.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm        pkix.AlgorithmIdentifier
		SubjectPublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.SubjectPublicKey.Bytes)
	return sum[:], nil
}

func (p *provider) rootURI() *url.URL {
	return &url.URL{Scheme: "spiffe", Host: p.trustDomain()}
}

func (p *provider) generateRoot() (*x509.Certificate, []*x509.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.isRoot {
		if p.signing == nil {
			return nil, nil, errors.New("a secondary CA has no intermediate yet")
		}
		return p.root, []*x509.Certificate{p.signing}, nil
	}
	if p.root != nil {
		return p.root, nil, nil
	}
	key, err := newKey(p.cfg)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	name := pkix.Name{CommonName: fmt.Sprintf("Switchyard Go plugin CA Root %.8s %x", p.clusterID, sn.Bytes()[:4])}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               name,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(p.rootTTL),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ski,
		URIs:                  []*url.URL{p.rootURI()},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	p.root, p.signing, p.key = root, root, key
	p.log.Info("generated a root", "serial", sn.Text(16))
	return root, nil, nil
}

func (p *provider) activeRoot() (*x509.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.root == nil {
		return nil, errors.New("no root yet (GenerateRoot or SetIntermediate first)")
	}
	return p.root, nil
}

func (p *provider) activeSigningCert() (*x509.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.signing == nil {
		return nil, errors.New("no signing certificate yet (GenerateRoot or SetIntermediate first)")
	}
	return p.signing, nil
}

func (p *provider) generateIntermediateCSR() ([]byte, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key, err := newKey(p.cfg)
	if err != nil {
		return nil, "", err
	}
	// It asks for CA:true, path length 0: a primary signs nothing else as an intermediate.
	constraints, err := asn1.Marshal(struct{ IsCA bool }{true})
	if err != nil {
		return nil, "", err
	}
	tmpl := &x509.CertificateRequest{
		Subject:         pkix.Name{CommonName: fmt.Sprintf("Switchyard Go plugin CA Intermediate %s %d", p.datacenter, time.Now().UnixNano())},
		URIs:            []*url.URL{p.rootURI()},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: constraints}},
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, "", err
	}
	p.pendingKey = key
	return der, "pending", nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	x, err1 := x509.MarshalPKIXPublicKey(a)
	y, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func (p *provider) setIntermediate(interDer, rootDer []byte, _ string) error {
	inter, err := x509.ParseCertificate(interDer)
	if err != nil {
		return fmt.Errorf("intermediate: %w", err)
	}
	root, err := x509.ParseCertificate(rootDer)
	if err != nil {
		return fmt.Errorf("root: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pendingKey == nil || !samePublicKey(inter.PublicKey, p.pendingKey.Public()) {
		return errors.New("the intermediate is not for the key of the last CSR")
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		return fmt.Errorf("the intermediate is not signed by the root: %w", err)
	}
	p.root, p.signing, p.key, p.pendingKey = root, inter, p.pendingKey, nil
	p.log.Info("installed an intermediate", "serial", inter.SerialNumber.Text(16))
	return nil
}

// The signing certificate and key, or an error when there is none.
func (p *provider) signer() (*x509.Certificate, crypto.Signer, error) {
	if p.signing == nil || p.key == nil {
		return nil, nil, errors.New("no signing key (GenerateRoot or SetIntermediate first)")
	}
	return p.signing, p.key, nil
}

func (p *provider) issue(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	parent, key, err := p.signer()
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return nil, err
	}
	if tmpl.NotAfter.After(parent.NotAfter) {
		tmpl.NotAfter = parent.NotAfter
	}
	// A cross-signed certificate keeps the identifier of the one it stands for (set by the caller).
	if tmpl.SubjectKeyId == nil {
		if tmpl.SubjectKeyId, err = keyID(pub); err != nil {
			return nil, err
		}
	}
	tmpl.AuthorityKeyId = parent.SubjectKeyId
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func parseCSR(der []byte) (*x509.CertificateRequest, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("csr signature: %w", err)
	}
	return csr, nil
}

func (p *provider) sign(csrDer []byte, ttlMs int64) (*x509.Certificate, error) {
	csr, err := parseCSR(csrDer)
	if err != nil {
		return nil, err
	}
	ttl := time.Duration(ttlMs) * time.Millisecond
	if ttl <= 0 {
		ttl = 72 * time.Hour
	}
	now := time.Now()
	return p.issue(&x509.Certificate{
		Subject:               csr.Subject,
		URIs:                  csr.URIs,
		DNSNames:              csr.DNSNames,
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(ttl),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, csr.PublicKey)
}

func (p *provider) caTemplate(subject pkix.Name, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               subject,
		URIs:                  []*url.URL{p.rootURI()},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
}

func (p *provider) signIntermediate(csrDer []byte) (*x509.Certificate, error) {
	csr, err := parseCSR(csrDer)
	if err != nil {
		return nil, err
	}
	tmpl := p.caTemplate(csr.Subject, time.Now().Add(p.interTTL))
	tmpl.MaxPathLen, tmpl.MaxPathLenZero = 0, true
	return p.issue(tmpl, csr.PublicKey)
}

func (p *provider) crossSign(certDer []byte) (*x509.Certificate, error) {
	other, err := x509.ParseCertificate(certDer)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	tmpl := p.caTemplate(other.Subject, other.NotAfter)
	tmpl.SubjectKeyId = other.SubjectKeyId
	return p.issue(tmpl, other.PublicKey)
}

func (p *provider) cleanup() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.root, p.signing, p.key, p.pendingKey = nil, nil, nil, nil
	p.log.Info("cleaned up")
}
