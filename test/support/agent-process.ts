// The real agent as a child process of bin/switchyard, for durability and signal tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitFor } from './wait.js';

export const BIN = new URL('../../../bin/switchyard', import.meta.url).pathname;

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly base: string;
  readonly addr: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Kills every agent still running (call from `after`, so a failed test never leaves one behind). */
export function killAgents(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function spawnAgent(args: readonly string[]): Promise<AgentProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'agent', '-http-port', String(port), '-node', 'proc', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  await waitFor('the agent to start', () => {
    if (done) throw new Error(`agent exited: ${err}`);
    return out.includes('agent running');
  }, { timeoutMs: 20_000 });
  const addr = `127.0.0.1:${port}`;
  return { child, base: `http://${addr}`, addr, stdout: () => out, stderr: () => err, exited };
}
