// The canonical text dump of a plan (docs/plan-format.md, "Dump"). `nsctl-helper --check` prints
// the same text byte for byte; the property tests hold the two to that.

import type { Plan } from '../plan/plan.ts';
import { CLONE_FLAG, NAMESPACES } from '../kernel/namespaces.ts';
import { toWirePlan } from './encode.ts';
import { VERSION, type WirePlan } from './format.ts';

const HEX = '0123456789abcdef';

/** `"…"`: printable ASCII as is except `\"` and `\\`; every other byte as `\xHH`. */
function quoted(b: Uint8Array): string {
  let s = '"';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c >= 0x20 && c <= 0x7e) s += String.fromCharCode(c);
    else s += `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
  }
  return `${s}"`;
}

function nsName(nstype: number): string {
  for (const ns of NAMESPACES) if (CLONE_FLAG[ns] === nstype) return ns;
  return '?';
}

export function dumpWire(wire: WirePlan): string {
  const lines = [`nscp ${VERSION}`];
  if (wire.slots !== undefined) lines.push(`slots first_fd=${wire.slots.firstFd} count=${wire.slots.count}`);
  const tail: string[] = [];
  wire.steps.forEach((s, i) => {
    const head = `step ${i} ${s.op}`;
    switch (s.op) {
      case 'setns':
        lines.push(`${head} slot=${s.slot} nstype=0x${s.nstype.toString(16).padStart(8, '0')} ${nsName(s.nstype)} ${s.soft ? 'soft' : 'hard'}`);
        break;
      case 'setgroups':
        lines.push(`${head} ${s.afterSwitch ? 'after-switch' : 'before-switch'}`);
        break;
      case 'setgid':
      case 'setuid':
        lines.push(s.owner === true ? `${head} owner` : `${head} ${s.id}`);
        break;
      case 'check-target':
        lines.push(`${head} pid=${s.pid} inode=${s.inode}`);
        break;
      case 'net-socket':
        lines.push(`${head} slot=${s.slot} pid=${s.pid} fd=${s.fd}`);
        break;
      case 'user-parent':
        lines.push(`${head} slot=${s.slot} from=${s.from}`);
        break;
      case 'join-cgroup':
      case 'stat-owner':
        lines.push(`${head} slot=${s.slot}`);
        break;
      case 'keep-caps':
        lines.push(head);
        break;
      case 'save-cwd':
      case 'chroot':
      case 'chdir':
        lines.push(`${head} slot=${s.slot}`);
        break;
      case 'open-late':
        lines.push(`${head} slot=${s.slot} ${quoted(s.path)}`);
        break;
      case 'fork':
        lines.push(head);
        break;
      case 'exec':
        lines.push(`${head} ${quoted(s.file)}`);
        for (const a of s.args) tail.push(`  arg ${quoted(a)}`);
        for (const e of s.env) tail.push(`  env ${quoted(e)}`);
        if (s.searchPath !== undefined) tail.push(`  search-path ${quoted(s.searchPath)}`);
        break;
      case 'exec-login-shell':
        lines.push(`${head} ${quoted(s.fallback)}`);
        for (const e of s.env) tail.push(`  env ${quoted(e)}`);
        break;
    }
  });
  return `${[...lines, ...tail, 'end'].join('\n')}\n`;
}

/** The dump of `encodePlan(plan, firstFd)`, built from the plan without encoding it. */
export function dumpPlan(plan: Plan, firstFd: number): string {
  return dumpWire(toWirePlan(plan, firstFd));
}
