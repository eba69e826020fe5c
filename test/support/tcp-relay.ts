// A TCP relay on a loopback port in front of another address: a network link a test can cut (every
// connection reset, new ones refused) and restore on the same port, so one agent loses its way to
// another while both keep running.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './wait.js';

export class TcpRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** A relay to `target` (`host:port`), listening. */
  static async start(target: string): Promise<TcpRelay> {
    const at = target.lastIndexOf(':');
    const relay = new TcpRelay(await freePort(), { host: target.slice(0, at), port: Number(target.slice(at + 1)) });
    await relay.restore();
    return relay;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resets every connection and stops listening: the link is gone. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((inbound) => {
      const outbound = connect(this.target.port, this.target.host);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }
}
