// ingress-gateway and terminating-gateway entries.
import { z } from 'zod';
import {
  duplicates,
  entryBase,
  issue,
  headerModifiers,
  namespace,
  nonNegativeInt,
  partition,
  passiveHealthCheck,
  port,
  protocol,
  serviceNameOrWildcard,
  tlsVersionRules,
  tlsVersion,
} from './common.js';

const sds = z.strictObject({ ClusterName: z.string().optional(), CertResource: z.string().optional() }).superRefine((v, ctx) => {
  if (!v.ClusterName !== !v.CertResource) issue(ctx, [], 'ClusterName and CertResource must be set together');
});

const gatewayTLS = z
  .strictObject({
    Enabled: z.boolean().optional(),
    TLSMinVersion: tlsVersion.optional(),
    TLSMaxVersion: tlsVersion.optional(),
    CipherSuites: z.array(z.string()).optional(),
    SDS: sds.optional(),
  })
  .superRefine(tlsVersionRules);

const limits = {
  MaxConnections: nonNegativeInt.optional(),
  MaxPendingRequests: nonNegativeInt.optional(),
  MaxConcurrentRequests: nonNegativeInt.optional(),
  PassiveHealthCheck: passiveHealthCheck.optional(),
};

const ingressService = z.strictObject({
  Name: serviceNameOrWildcard,
  Namespace: namespace.optional(),
  Partition: partition.optional(),
  Hosts: z.array(z.string().min(1, 'must not be empty')).optional(),
  // A certificate of its own: the service gets a filter chain of its own, chosen by SNI among its Hosts.
  TLS: z.strictObject({ SDS: sds.optional() }).optional(),
  RequestHeaders: headerModifiers.optional(),
  ResponseHeaders: headerModifiers.optional(),
  ...limits,
});

const listener = z
  // An empty Protocol is the default, tcp (Consul's Go client sends the zero value).
  .strictObject({ Port: port, Protocol: z.union([z.literal('').transform(() => undefined), protocol]).optional(), Services: z.array(ingressService).optional(), TLS: gatewayTLS.optional() })
  .superRefine((l, ctx) => {
    const proto = l.Protocol ?? 'tcp';
    const services = l.Services ?? [];
    if (proto === 'tcp' && services.length > 1) issue(ctx, ['Services'], 'a "tcp" listener routes to exactly one service');
    services.forEach((s, i) => {
      if (proto === 'tcp' && s.Name === '*') issue(ctx, ['Services', i, 'Name'], 'the wildcard "*" needs an HTTP-based listener protocol');
      if (s.Hosts?.length && proto === 'tcp') issue(ctx, ['Services', i, 'Hosts'], 'are only valid on listeners with an HTTP-based protocol');
      if (s.Hosts?.length && s.Name === '*') issue(ctx, ['Services', i, 'Hosts'], 'cannot be set on the wildcard service "*"');
      if (s.TLS?.SDS?.ClusterName) {
        if (proto === 'tcp') issue(ctx, ['Services', i, 'TLS'], 'a certificate of its own needs an HTTP-based listener protocol (set TLS on a tcp listener itself)');
        else if (!s.Hosts?.length || s.Hosts.includes('*')) issue(ctx, ['Services', i, 'Hosts'], 'must list the host names of its TLS.SDS certificate (its filter chain is chosen by SNI), and not "*"');
      }
    });
    for (const i of duplicates(services, (s) => s.Name)) issue(ctx, ['Services', i, 'Name'], 'is listed more than once on this listener');
    // Envoy refuses a domain twice in one route configuration, and wildcards other than a leading label.
    const seen = new Set<string>();
    services.forEach((s, i) =>
      (s.Hosts ?? []).forEach((h, j) => {
        if (h !== '*' && h.replace(/^\*\./, '').includes('*')) issue(ctx, ['Services', i, 'Hosts', j], `"${h}": a wildcard is only allowed as the leftmost label (*.example.com) or as "*" alone`);
        if (seen.has(h)) issue(ctx, ['Services', i, 'Hosts', j], `"${h}" is a host of another service of this listener`);
        seen.add(h);
      }),
    );
  });

export const ingressGatewaySchema = z
  .strictObject({
    ...entryBase('ingress-gateway'),
    TLS: gatewayTLS.optional(),
    // Consul keeps the three limits of Defaults as numbers, 0 when not set (its Go client reads them so).
    Defaults: z
      .strictObject(limits)
      .transform((d) => ({ MaxConnections: 0, MaxPendingRequests: 0, MaxConcurrentRequests: 0, ...d }))
      .optional(),
    Listeners: z.array(listener).optional(),
  })
  .superRefine((v, ctx) => {
    for (const i of duplicates(v.Listeners ?? [], (l) => String(l.Port))) issue(ctx, ['Listeners', i, 'Port'], 'is used by more than one listener');
  });

export const terminatingGatewaySchema = z
  .strictObject({
    ...entryBase('terminating-gateway'),
    Services: z
      .array(
        z
          .strictObject({
            Name: serviceNameOrWildcard,
            Namespace: namespace.optional(),
            Partition: partition.optional(),
            CAFile: z.string().optional(),
            CertFile: z.string().optional(),
            KeyFile: z.string().optional(),
            SNI: z.string().optional(),
            DisableAutoHostRewrite: z.boolean().optional(),
          })
          .superRefine((s, ctx) => {
            if (!s.CertFile !== !s.KeyFile) issue(ctx, [s.CertFile ? 'KeyFile' : 'CertFile'], 'CertFile and KeyFile must be set together');
            if (s.CertFile && !s.CAFile) issue(ctx, ['CAFile'], 'must be set when CertFile and KeyFile are');
          }),
      )
      .optional(),
  })
  .superRefine((v, ctx) => {
    for (const i of duplicates(v.Services ?? [], (s) => s.Name)) issue(ctx, ['Services', i, 'Name'], 'is listed more than once');
  });
