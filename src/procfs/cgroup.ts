// The cgroup v2 path of a process, from the text of /proc/PID/cgroup, for `-c`.
//
// Each line is `HIERARCHY:CONTROLLERS:PATH`; the v2 line is `0::PATH`. A cgroup's name may hold
// any byte but `/` and NUL — colons and newlines included — and the kernel prints the path as it
// is. So the path is everything after the line's *second* colon (a cgroup named `x:/victim` must
// not turn into `/victim`), and a newline in a name can make a line that looks like another
// hierarchy's, even a second `0::` line. The kernel lists the v2 hierarchy last; a file whose
// `0::` line is not the last line, or that has two of them, cannot be read with certainty, and
// the answer is then "no path" rather than a guess (docs/security.md, "-c and cgroup names").
//
// Where there is no `0::` line at all, the first line's path is taken, as nsenter does
// (docs/compat.md, the `-c` cgroup path row).

/** The cgroup v2 path in /proc/PID/cgroup text; undefined when it cannot be told for certain. */
export function parseCgroupV2Path(text: string): string | undefined {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const v2 = lines.flatMap((line, index) => (line.startsWith('0::') ? [index] : []));
  if (v2.length === 0) return pathOf(lines[0] ?? '');
  if (v2.length > 1 || v2[0] !== lines.length - 1) return undefined;
  return pathOf(lines[v2[0]]!);
}

/** The path of one `HIERARCHY:CONTROLLERS:PATH` line: after the second colon, starting with `/`. */
function pathOf(line: string): string | undefined {
  const first = line.indexOf(':');
  const second = first < 0 ? -1 : line.indexOf(':', first + 1);
  if (second < 0 || !/^[0-9]+$/.test(line.slice(0, first))) return undefined;
  const path = line.slice(second + 1);
  return path.startsWith('/') ? path : undefined;
}
