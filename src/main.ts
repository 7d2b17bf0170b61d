// nsctl's entry point: argv → options → facts → plan → helper, and the exit status at the end.
// Every error becomes one `nsctl: …` line and exit 1 here, at the edge, never a stack trace.
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { helpText, parseArgs, versionText } from './cli/index.ts';
import { strerrorOfCode } from './kernel/errno.ts';
import { buildPlan } from './plan/index.ts';
import { encodeBytes } from './kernel/bytes.ts';
import { faithfulArguments, readSystemFacts, startupEnvironment } from './procfs/index.ts';
import { closeAll, openEarlyFiles, openPlanFiles } from './run/open-files.ts';
import type { Outcome } from './run/index.ts';
import type { Resolved } from './targets/index.ts';

// The runner (child_process, crypto) and the container resolvers (http) load only when a command
// line gets that far: --help, --version and every error before them skip their start-up cost
// (bench/results.md).
const runStage = () => import('./run/index.ts');
const targetsStage = () => import('./targets/index.ts');

const PROGRAM = 'nsctl';

let helperStarted = false;
/** Whether this run got as far as starting the helper: bin/nsctl keeps V8's code cache of such a run. */
export const ranTheHelper = (): boolean => helperStarted;

export async function main(argv: readonly string[], packageRoot: URL): Promise<Outcome> {
  const parsed = parseArgs(faithfulArguments(argv));
  // Upstream opens these while parsing, so their errors come before any later one (§2.5).
  const early = openEarlyFiles(parsed.earlyFiles);
  if (!early.ok) return failed(early.message);

  const stop = parsed.stop;
  if (stop !== undefined) {
    closeAll(early.fds);
    switch (stop.kind) {
      case 'help':
        return printed(await helpText());
      case 'version':
        return printed(versionText());
      case 'list-targets':
        return printed(await (await targetsStage()).listTargetsText());
      case 'usage':
        return failed(stop.message, `Try '${PROGRAM} --help' for more information.`);
      case 'error':
        return failed(stop.message);
    }
  }
  // `-t KIND:NAME` (issue 8): resolved once, here, to a PID (or a --net file for netns:).
  const named: Resolved =
    parsed.options!.targetName === undefined
      ? { ok: true, options: parsed.options!, fds: [], resolution: undefined }
      : await (await targetsStage()).resolveNamedTarget(parsed.options!, early.fds.length);
  if (!named.ok) {
    closeAll(early.fds);
    return failed(named.message);
  }
  early.fds.push(...named.fds);
  const options = named.options;

  const facts = readSystemFacts(options);
  if (!facts.ok) return failed(facts.message);

  const run = await runStage();
  const planned = buildPlan(options, facts.facts, { env: run.programEnvironment(startupEnvironment(process.env)) });
  if (!planned.ok) {
    const opened = openPlanFiles(planned.openFirst ?? [], early.fds);
    return failed(opened.ok ? planned.message : opened.message);
  }
  const plan = planned.plan;
  const helper = run.locateHelper(process.env, packageRoot);
  if (!helper.ok) return failed(helper.message);

  const files = openPlanFiles(plan.files, early.fds);
  if (!files.ok) return failed(files.message);
  // The files are open: the process must still be the one resolved, or we opened another's.
  if (named.resolution !== undefined) {
    const still = (await targetsStage()).stillSameTarget(named.resolution);
    if (!still.ok) return failed(still.message);
  }
  helperStarted = true;
  const outcome = await run.runHelper(helper.path, plan, files.fds, run.callerDescriptors(process.env));
  closeAll(early.fds.concat(files.fds).filter((fd, i, all) => all.indexOf(fd) === i));
  if (outcome.kind === 'failed') report(outcome.message);
  return outcome;
}

function report(...lines: (string | undefined)[]): void {
  for (const line of lines) {
    if (line === undefined) continue;
    const prefixed = line.startsWith('Try ') ? line : `${PROGRAM}: ${line}`;
    try {
      // A path or program name given with bytes that are not UTF-8 is printed with those bytes.
      const bytes = encodeBytes(`${prefixed}\n`);
      if (bytes !== undefined) writeSync(2, bytes);
      else writeSync(2, `${prefixed}\n`);
    } catch {
      // stderr is gone; the exit status still tells.
    }
  }
}

function failed(...lines: (string | undefined)[]): Outcome {
  report(...lines);
  return { kind: 'exited', code: 1 };
}

/** Help and version go to stdout; a failed write is an error, as upstream's close_stdout (§10.1). */
function printed(text: string): Outcome {
  try {
    writeSync(1, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EBADF') return failed(`write error: ${strerrorOfCode(code)}`);
  }
  return { kind: 'exited', code: 0 };
}

/**
 * Ends nsctl the way the program ended: the same exit code, or death by the same signal, so a
 * shell sees 128+N exactly as with nsenter.
 */
export function exitLike(outcome: Outcome): void {
  if (outcome.kind === 'signaled') {
    // Listening and then not listening leaves the default action in place (libuv restores SIG_DFL
    // when its last watcher stops), also for SIGPIPE, which Node itself ignores.
    // SIGKILL and SIGSTOP cannot be caught, so there is nothing to restore.
    if (outcome.signal !== 'SIGKILL' && outcome.signal !== 'SIGSTOP') {
      process.on(outcome.signal, () => {});
      process.removeAllListeners(outcome.signal);
    }
    process.kill(process.pid, outcome.signal);
    // Still alive: the signal is ignored or blocked here by inheritance. The shell's convention
    // for "killed by N" is the nearest we can give.
    process.exit(128 + signalNumber(outcome.signal));
  }
  process.exit(outcome.code);
}

function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Readonly<Record<string, number>>)[signal] ?? 0;
}
