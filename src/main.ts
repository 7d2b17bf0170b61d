// The planner's entry point: argv → options → facts → plan → bytes on the plan descriptor, then
// exit. The helper that started it waits for it to exit and then performs the plan; by the time
// the program runs, this process is gone (docs/plan-format.md).
//
// Every error becomes one `nsctl: …` line and exit 1 here, at the edge, never a stack trace. Node
// must not touch the caller's terminal or stdio state: output goes out with writeSync on the raw
// descriptors, never through process.stdout/stderr streams, which would make them non-blocking.
import { writeSync } from 'node:fs';
import { programEnvironment, startupEnvironment, faithfulArguments } from './caller/index.ts';
import { completionText, helpText, parseArgs, versionText } from './cli/index.ts';
import { encodeBytes } from './kernel/bytes.ts';
import { strerrorOfCode } from './kernel/errno.ts';
import { buildPlan, hostToolsRefusal } from './plan/index.ts';
import { askNsFacts, firstUnopenable, readSystemFacts } from './procfs/index.ts';
import { encodePlan, PlanEncodingError } from './wire/index.ts';

// The container resolvers (http) load only when a command line names a container: --help,
// --version and every error before them skip their start-up cost (bench/results.md).
const targetsStage = () => import('./targets/index.ts');

const PROGRAM = 'nsctl';

export interface Outcome {
  /** The planner's exit status; the helper exits with it when there is no plan. */
  readonly code: number;
  /** A plan was written: the run went the whole way (bin/nsctl keeps V8's code cache of such a run). */
  readonly planned: boolean;
}

export async function main(argv: readonly string[], planFd: number): Promise<Outcome> {
  const parsed = parseArgs(faithfulArguments(argv));
  // Upstream opens these while parsing, so their errors come before any later one.
  const unopenable = firstUnopenable(parsed.earlyFiles);
  if (unopenable !== undefined) return failed(unopenable);

  const stop = parsed.stop;
  if (stop !== undefined) {
    switch (stop.kind) {
      case 'help':
        return printed(await helpText());
      case 'version':
        return printed(versionText());
      case 'list-targets':
        return printed(await (await targetsStage()).listTargetsText(process.env, { verbose: stop.verbose }));
      case 'completion':
        return printed(await completionText(stop.shell));
      case 'usage':
        return failed(stop.message, `Try '${PROGRAM} --help' for more information.`);
      case 'error':
        return failed(stop.message);
    }
  }
  let options = parsed.options!;
  for (const [wanted, name] of [[options.explain, '--explain'], [options.json, '--json'], [options.pty, '--pty']] as const) {
    if (wanted === true) return failed(`${name} is not supported yet`);
  }
  let earlyFiles = parsed.earlyFiles;
  let start: bigint | undefined;
  // `-t KIND:NAME`: resolved once, here, to a PID (or, for netns:, a --net file).
  if (options.targetName !== undefined) {
    const named = await (await targetsStage()).resolveNamedTarget(options, earlyFiles.length);
    if (!named.ok) return failed(named.message);
    options = named.options;
    earlyFiles = [...earlyFiles, ...named.files];
    const more = firstUnopenable(named.files);
    if (more !== undefined) return failed(more);
    // The resolver checked this process's cgroup against the container's: pin that process.
    start = named.resolution?.identity.startTime;
  }

  // --host-tools refuses some command lines before /proc is read (the rest, in buildPlan, by the facts).
  const refused = hostToolsRefusal(options);
  if (refused !== undefined) return failed(refused);
  const facts = readSystemFacts(options, { nsFacts: (paths) => askNsFacts(planFd, paths) });
  if (!facts.ok) return failed(facts.message);
  const withPin = start === undefined ? facts.facts : { ...facts.facts, target: { ok: true as const, start } };
  const planned = buildPlan(options, earlyFiles, withPin, { env: programEnvironment(startupEnvironment(process.env)) });
  if (!planned.ok) return failed(firstUnopenable((planned.opensFirst ?? []).map((path) => ({ path }))) ?? planned.message);
  try {
    writeAll(planFd, encodePlan(planned.plan));
  } catch (error) {
    if (error instanceof PlanEncodingError) return failed(`internal error: ${error.message}`);
    return failed(`internal error: cannot hand the plan to the helper: ${strerrorOfCode((error as NodeJS.ErrnoException).code)}`);
  }
  return { code: 0, planned: true };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

function report(...lines: (string | undefined)[]): void {
  for (const line of lines) {
    if (line === undefined) continue;
    const prefixed = line.startsWith('Try ') ? line : `${PROGRAM}: ${line}`;
    try {
      // A path or program name given with bytes that are not UTF-8 is printed with those bytes.
      writeAll(2, encodeBytes(`${prefixed}\n`) ?? Buffer.from(`${prefixed}\n`));
    } catch {
      // stderr is gone; the exit status still tells.
    }
  }
}

function failed(...lines: (string | undefined)[]): Outcome {
  report(...lines);
  return { code: 1, planned: false };
}

/** Help and version go to stdout; a failed write is an error, as upstream's close_stdout. */
function printed(text: string): Outcome {
  try {
    writeAll(1, Buffer.from(text));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EBADF') return failed(`write error: ${strerrorOfCode(code)}`);
  }
  return { code: 0, planned: false };
}
