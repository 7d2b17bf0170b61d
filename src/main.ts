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
import { askNsFacts, firstUnopenable, readNamespaceInodes, readSystemFacts } from './procfs/index.ts';
import { encodePlan, PlanEncodingError } from './wire/index.ts';
import type { ExplainInput } from './explain/index.ts';

// The container resolvers (http) load only when a command line names a container: --help,
// --version and every error before them skip their start-up cost (bench/results.md).
const targetsStage = () => import('./targets/index.ts');
// --explain and --json: only those runs load the code that describes a plan and tries its first
// steps; a real run never pays for it.
const explainStage = () => import('./explain/index.ts');
const preflightStage = () => import('./preflight/index.ts');

const PROGRAM = 'nsctl';

export interface Outcome {
  /** The planner's exit status; the helper exits with it when there is no plan. */
  readonly code: number;
  /**
   * The run went the whole way: a plan was written, or explained (bin/nsctl keeps V8's code cache
   * of such a run).
   */
  readonly planned: boolean;
}

export async function main(argv: readonly string[], planFd: number): Promise<Outcome> {
  const parsed = parseArgs(faithfulArguments(argv));
  // Upstream opens these while parsing, so their errors come before any later one.
  const unopenable = firstUnopenable(parsed.earlyFiles);
  if (unopenable !== undefined) return failed(unopenable);

  if (parsed.stop !== undefined) {
    const stop = parsed.stop;
    switch (stop.kind) {
      case 'help':
        return printed(await helpText());
      case 'version':
        return printed(versionText());
      case 'list-targets': {
        // stdout has targets only; where nothing was found, stderr says where nsctl looked. Exit 0.
        const listing = await (await targetsStage()).listTargetsReport(process.env, { verbose: stop.verbose });
        report(...listing.note);
        return printed(listing.text);
      }
      case 'completion':
        return printed(await completionText(stop.shell));
      case 'usage':
        return failed(stop.message, `Try '${PROGRAM} --help' for more information.`);
      case 'error':
        return failed(stop.message);
    }
  }
  let options = parsed.options;
  // --explain and --json (extensions: no nsenter command line has them) go the whole way a real
  // run goes, with every check and error of it, and print instead of handing the plan over.
  if (options.explain === true && options.json === true) return failed('options --explain and --json cannot be combined');
  const explaining = options.explain === true || options.json === true;
  let earlyFiles = parsed.earlyFiles;
  let pinned: { start: bigint; named: string } | undefined;
  let named: ExplainInput['named'];
  // `-t KIND:NAME`: resolved once, here, to a PID (or, for netns:, a --net file).
  if (options.targetName !== undefined) {
    const target = options.targetName;
    const resolved = await (await targetsStage()).resolveNamedTarget(options, earlyFiles.length);
    if (!resolved.ok) return failed(resolved.message);
    options = resolved.options;
    earlyFiles = [...earlyFiles, ...resolved.files];
    const more = firstUnopenable(resolved.files);
    if (more !== undefined) return failed(more);
    // The resolver checked this process's cgroup against the container's: pin that process.
    const identity = resolved.resolution?.identity;
    if (identity !== undefined) pinned = { start: identity.startTime, named: `${target.kind}:${target.name}` };
    named = { target, resolution: resolved.resolution, files: resolved.files };
  }

  // --host-tools refuses some command lines before /proc is read (the rest, in buildPlan, by the facts).
  const hostToolsRefused = hostToolsRefusal(options);
  if (hostToolsRefused !== undefined) return failed(hostToolsRefused);
  const facts = readSystemFacts(options, { nsFacts: (paths) => askNsFacts(planFd, paths) });
  if (!facts.ok) return failed(facts.message);
  const withPin = pinned === undefined ? facts.facts : { ...facts.facts, target: { ok: true as const, ...pinned } };
  const planned = buildPlan(options, earlyFiles, withPin, { env: programEnvironment(startupEnvironment(process.env)) });
  if (!planned.ok) return failed(firstUnopenable((planned.opensFirst ?? []).map((path) => ({ path }))) ?? planned.message);
  try {
    // Encoded when explaining too: a plan the wire cannot carry fails both runs alike.
    const bytes = encodePlan(planned.plan);
    if (!explaining) writeAll(planFd, bytes);
  } catch (error) {
    if (error instanceof PlanEncodingError) return failed(`internal error: ${error.message}`);
    return failed(`internal error: cannot hand the plan to the helper: ${strerrorOfCode((error as NodeJS.ErrnoException).code)}`);
  }
  if (!explaining) return { code: 0, planned: true };

  // The helper's first steps only open and check; where one would fail, the real run would stop
  // there, before changing anything, with this message and status.
  const refused = (await preflightStage()).preflight(planned.plan);
  if (refused !== undefined) return failed(...refused.lines);
  const input: ExplainInput = {
    argv,
    options,
    named,
    facts: withPin,
    inodes: readNamespaceInodes(options.target, earlyFiles),
    plan: planned.plan,
    notes: planned.notes,
  };
  const shown = printed((await explainStage()).explanation(input, options.json === true ? 'json' : 'text'));
  return { ...shown, planned: shown.code === 0 };
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
