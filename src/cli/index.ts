// The command-line stage's only public door (docs/style.md): argv → Options, and the help and
// version texts.
export { parseArgs } from './parse.ts';
export { helpText, versionText } from './help.ts';
export type { EarlyFile, IdChoice, Options, ParseResult, ParseStop, Source, TargetKind, TargetName } from './options.ts';
export { TARGET_KINDS } from './options.ts';
