// The command-line stage's only public door: argv → Options, and the texts nsctl prints without
// running anything (help, version, completion scripts).
import type { CompletionShell } from './table.ts';

export { parseArgs } from './parse.ts';
export { helpText, versionText } from './help.ts';
export type { EarlyFile, IdChoice, Options, ParseResult, ParseStop, Source, TargetKind, TargetName } from './options.ts';
export { TARGET_KINDS } from './options.ts';
export { COMPLETION_SHELLS, type CompletionShell } from './table.ts';

/**
 * The script `nsctl --completion SHELL` prints. Its module is loaded only here, so a bundle that
 * reaches it through a dynamic import() keeps it off every other run's start-up.
 */
export async function completionText(shell: CompletionShell): Promise<string> {
  return (await import('./completion.ts')).completionScript(shell);
}
