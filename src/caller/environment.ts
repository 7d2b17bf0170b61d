// The program's environment: the caller's, as nsenter would pass it on. Under `npx nsctl` (and
// `npm exec`), npm has added its own variables and PATH entries on the way; those are taken out
// again, so `npx nsctl … env` prints what `nsenter … env` would.

/** npm's PATH additions: its node_modules/.bin directories and node-gyp-bin, in front of PATH. */
function isNpmPathEntry(entry: string): boolean {
  return entry.endsWith('/node_modules/.bin') || entry.endsWith('/node-gyp-bin');
}

/**
 * The caller's environment (startupEnvironment: NAME=value entries, bytes and order kept) minus
 * what npm exec added: every `npm_*` variable, INIT_CWD, NODE (npm's node path), COLOR (npm's
 * colour flag), EDITOR when it is npm's default `vi`, and the PATH entries npm put in front.
 */
export function programEnvironment(entries: readonly string[]): string[] {
  const valueOf = (name: string): string | undefined => entries.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
  const underNpmExec = valueOf('npm_command') === 'exec';
  const npmNode = valueOf('npm_node_execpath');
  const list: string[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    if (underNpmExec && eq >= 0) {
      if (name.startsWith('npm_') || name === 'INIT_CWD' || name === 'COLOR') continue;
      if (name === 'NODE' && value === npmNode) continue;
      if (name === 'EDITOR' && value === 'vi') continue;
      if (name === 'PATH') {
        const dirs = value.split(':');
        let first = 0;
        while (first < dirs.length && isNpmPathEntry(dirs[first]!)) first++;
        list.push(`PATH=${dirs.slice(first).join(':')}`);
        continue;
      }
    }
    list.push(entry);
  }
  return list;
}
