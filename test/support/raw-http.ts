// One HTTP/1.1 connection driven byte by byte, for tests that need a request to be half sent,
// a connection to stay idle, or to see exactly what the server does to a socket.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Wakeup } from './wait.js';

export interface RawResponse {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export class RawConnection {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private readonly wakeup = new Wakeup();

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(text: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(text, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Resolves once the server process has read everything sent so far: the kernel's receive queue
   * of the server's end of this connection is empty (Linux /proc/net/tcp). Node parses what it
   * reads at once, so a request whose headers were sent has then reached the server's handler.
   */
  async readByServer(timeoutMs = 10_000): Promise<void> {
    const local = this.socket.localPort;
    const remote = this.socket.remotePort;
    await this.until(() => receiveQueue(remote as number, local as number) === 0, timeoutMs, 'the server to read what was sent', 5);
  }

  /** Resolves when the server has closed the connection, fails after the deadline. */
  async closedByServer(timeoutMs = 10_000): Promise<void> {
    await this.until(() => this.ended, timeoutMs, 'the server to close the connection');
  }

  /** The next complete response (Content-Length framed). */
  async response(timeoutMs = 10_000): Promise<RawResponse> {
    let parsed: { response: RawResponse; length: number } | undefined;
    await this.until(() => (parsed = parse(this.buffer)) !== undefined || this.ended, timeoutMs, 'a response');
    if (!parsed) throw new Error(`the connection closed before a response arrived (got ${JSON.stringify(this.buffer.toString())})`);
    this.buffer = this.buffer.subarray(parsed.length);
    return parsed.response;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async until(cond: () => boolean, timeoutMs: number, what: string, pollMs?: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = Math.min(deadline - Date.now(), pollMs ?? Infinity);
      if (deadline - Date.now() <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await this.wakeup.wait(left);
    }
  }

  private wake(): void {
    this.wakeup.wake();
  }
}

/** The receive queue of the IPv4 loopback socket `localPort` -> `remotePort`, if it exists. */
function receiveQueue(localPort: number, remotePort: number): number | undefined {
  const hex = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  const want = `0100007F:${hex(localPort)} 0100007F:${hex(remotePort)}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (`${cols[1]} ${cols[2]}` === want) return parseInt((cols[4] ?? '').split(':')[1] ?? '', 16);
  }
  return undefined;
}

function parse(buf: Buffer): { response: RawResponse; length: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < end + 4 + length) return undefined;
  return { response: { status, headers, body: buf.subarray(end + 4, end + 4 + length).toString('utf8') }, length: end + 4 + length };
}

/** A full request with a JSON body. */
export function request(method: string, path: string, body?: string, extra = ''): string {
  const head = `${method} ${path} HTTP/1.1\r\nHost: test\r\n${extra}`;
  return body === undefined ? `${head}\r\n` : `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
