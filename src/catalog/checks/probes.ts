// The network probes behind HTTP, TCP and gRPC checks, with Consul's status rules: HTTP 2xx is
// passing, 429 warning, anything else critical; TCP passes on connect; gRPC passes on SERVING.
import * as grpc from '@grpc/grpc-js';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { errorMessage } from '../../core/errors.js';
import type { HealthCheckDefinition, HealthStatus } from '../types.js';

export interface ProbeResult {
  readonly status: HealthStatus;
  readonly output: string;
}

export interface Probes {
  http(def: HealthCheckDefinition, timeoutMs: number): Promise<ProbeResult>;
  tcp(address: string, timeoutMs: number): Promise<ProbeResult>;
  grpc(target: string, useTls: boolean, timeoutMs: number): Promise<ProbeResult>;
}

const MAX_OUTPUT = 4096;

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

function http(def: HealthCheckDefinition, timeoutMs: number): Promise<ProbeResult> {
  const url = new URL(def.HTTP as string);
  const method = def.Method || 'GET';
  const headers: Record<string, string | string[]> = { 'user-agent': 'Switchyard Health Check', accept: 'text/plain, text/*, */*', ...def.Header };
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let req: ReturnType<typeof send>;
    try {
      req = send(url, { method, headers, timeout: timeoutMs, rejectUnauthorized: !def.TLSSkipVerify }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < MAX_OUTPUT) body += chunk;
        });
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          const status: HealthStatus = code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical';
          resolve({ status, output: `HTTP ${method} ${url.href}: ${code} ${res.statusMessage ?? ''} Output: ${body.slice(0, MAX_OUTPUT)}` });
        });
      });
    } catch (err) {
      // Node refuses some requests synchronously (a header value with a line break, say).
      resolve({ status: 'critical', output: `HTTP ${method} ${url.href}: ${errorMessage(err)}` });
      return;
    }
    // `timeout` above only bounds idleness; this bounds the whole check, as Consul's client Timeout does.
    const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    deadline.unref();
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ status: 'critical', output: `HTTP ${method} ${url.href}: ${errorMessage(err)}` }));
    req.end(def.Body);
  });
}

function tcp(address: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ ...splitHostPort(address), timeout: timeoutMs });
    const done = (r: ProbeResult) => {
      socket.destroy();
      resolve(r);
    };
    socket.once('connect', () => done({ status: 'passing', output: `TCP connect ${address}: Success` }));
    socket.once('timeout', () => done({ status: 'critical', output: `dial tcp ${address}: timed out after ${timeoutMs} ms` }));
    socket.once('error', (err) => done({ status: 'critical', output: `dial tcp ${address}: ${errorMessage(err)}` }));
  });
}

// grpc.health.v1 HealthCheckRequest { string service = 1; } / HealthCheckResponse { ServingStatus status = 1; }
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function encodeRequest(service: string): Buffer {
  const bytes = Buffer.from(service, 'utf8');
  if (bytes.length === 0) return Buffer.alloc(0);
  // The length is a varint: 7 bits a byte, high bit set on all but the last.
  const length: number[] = [];
  for (let n = bytes.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...length]), bytes]);
}

function decodeStatus(buf: Buffer): number {
  return buf.length >= 2 && buf[0] === 0x08 ? (buf[1] as number) : 0;
}

function grpcProbe(target: string, useTls: boolean, timeoutMs: number): Promise<ProbeResult> {
  const slash = target.indexOf('/');
  const address = slash < 0 ? target : target.slice(0, slash);
  const service = slash < 0 ? '' : target.slice(slash + 1);
  const client = new grpc.Client(address, useTls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      encodeRequest,
      decodeStatus,
      service,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, status) => {
        client.close();
        if (err) return resolve({ status: 'critical', output: `gRPC health check ${target}: ${err.message}` });
        const name = SERVING_STATUS[status ?? 0] ?? String(status);
        resolve({ status: status === 1 ? 'passing' : 'critical', output: `gRPC health check ${target}: service is ${name}` });
      },
    );
  });
}

export const networkProbes: Probes = { http, tcp, grpc: grpcProbe };
