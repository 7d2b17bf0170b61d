// One GET over a unix socket with node:http's socketPath: all nsctl needs of an engine's API
// (docs/targets.md), so no client library.
import { request } from 'node:http';
import { parseJson } from './parsers.ts';

export type Answer =
  | { readonly ok: true; readonly status: number; readonly body: unknown }
  /** Could not talk to the daemon at all: `code` is the errno name (ENOENT, ECONNREFUSED, EACCES…). */
  | { readonly ok: false; readonly code: string };

const TIMEOUT_MS = 5000;
const MAX_BODY = 64 * 1024 * 1024;

export function getJson(socketPath: string, path: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET', headers: { Host: 'localhost' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) req.destroy(Object.assign(new Error('answer too large'), { code: 'EFBIG' }));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? 'EIO' }));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? 'EIO' }));
    req.end();
  });
}
