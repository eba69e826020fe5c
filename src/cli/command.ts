// One CLI command: its name, a one-line summary, and what it does. The composition root
// (main.ts) owns the process: it passes stdout/stderr and the environment down.

export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  /** Words as typed, e.g. `agent` or `config write`. */
  readonly name: string;
  readonly summary: string;
  readonly help?: string;
  /** Resolves to the process exit code. */
  run(args: readonly string[], io: CommandIO): Promise<number>;
}
