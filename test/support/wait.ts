// Waiting on a condition with a deadline: the only synchronisation tests use.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or fails after the
 * deadline with `what` and the last error or value seen.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, opts: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms waiting for ${what} (last: ${detail})`);
    }
    await delay(opts.intervalMs ?? 50);
  }
}

/** Waits that end when `wake()` is called (something arrived) or after their timeout. */
export class Wakeup {
  private readonly waiters: Array<() => void> = [];

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * Ports for test listeners come from below the kernel's ephemeral range: a port taken from the
 * ephemeral range and released can be handed, before our server binds it, to any outgoing
 * connection as its source port (Envoy's, a test client's), which made binds fail at random.
 * Each test process starts at its own offset so parallel test files rarely meet.
 */
const LOW = 10_000;
const HIGH = ephemeralLow();
let nextPort = LOW + ((process.pid * 397) % (HIGH - LOW));

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOW + 1000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1, free at the time of the call, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = nextPort;
    nextPort = nextPort + 1 >= HIGH ? LOW : nextPort + 1;
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port between ${LOW} and ${HIGH}`);
}
