// Types of conformance-cases.mjs, for test/integration/conformance.root.test.ts.

/** What a run gives: stdout, stderr with program names and target PIDs normalised, the status. */
export interface Result {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | string;
}

/** The targets' namespaces, for an expected result that names them (`self`: the caller's own). */
export interface Targets {
  readNs(key: string, ns: string): string;
}

export interface Case {
  /** The arguments, with {P} etc. for the targets' PIDs. */
  readonly args: readonly string[];
  /** Run as uid 1000. */
  readonly as?: 'user';
  /** What 2.42 (or nsctl by a documented decision) gives, where 2.38.1 differs. */
  readonly v242?: Result | ((targets: Targets) => Result);
  /** Compare the exit status only. */
  readonly compare?: 'status';
}

export interface Outcome {
  readonly ok: boolean;
  readonly want: Result;
  readonly got: Result;
  /** The arguments as run, with the PIDs in. */
  readonly args: readonly string[];
}

export interface Bench {
  runCase(c: Case): Outcome;
  runGenerated(args: readonly string[]): Outcome;
  stop(): void;
}

export const CASES: readonly Case[];
export function caseName(c: Case, args?: readonly string[]): string;
export function generatedLines(): string[][];
export function generatedName(args: readonly string[]): string;
export function startBench(): Bench;
