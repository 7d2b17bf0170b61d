// Which container a user's word names, the way `docker inspect` decides: a full ID first, then an
// exact name, then a unique ID prefix. Several matches are an error that lists them; one match that
// is not running is an error that says so. Names, IDs and states are the engine's words, so the
// messages show them escaped (escapeUntrusted).
import { escapeUntrusted } from '../kernel/escape.ts';

/** A container an engine knows, running or not. */
export interface Candidate {
  /** The engine's ID (64 hex for Docker and Podman; the name the user gave for containerd). */
  readonly id: string;
  /** Names without Docker's leading `/`; may be empty. */
  readonly names: readonly string[];
  readonly running: boolean;
  /** The init's host PID when known (state files, inspect answers); an API list does not say. */
  readonly pid: number | undefined;
  /** The engine's word for its state (`running`, `exited`, `created`…). */
  readonly state: string;
  /**
   * Why its run state was not believed (state files only): it lies where someone other than root
   * or the caller could write it. Such a container is never entered by name from those files.
   */
  readonly distrusted?: string | undefined;
}

export type Match =
  | { readonly kind: 'one'; readonly candidate: Candidate }
  | { readonly kind: 'none' }
  | { readonly kind: 'several'; readonly candidates: readonly Candidate[] };

export function matchCandidates(query: string, candidates: readonly Candidate[]): Match {
  const wanted = query.startsWith('/') ? query.slice(1) : query;
  if (wanted === '') return { kind: 'none' };
  const byId = candidates.filter((c) => c.id === wanted);
  if (byId.length > 0) return oneOrSeveral(byId);
  const byName = candidates.filter((c) => c.names.includes(wanted));
  if (byName.length > 0) return oneOrSeveral(byName);
  const byPrefix = candidates.filter((c) => c.id.startsWith(wanted));
  if (byPrefix.length > 0) return oneOrSeveral(byPrefix);
  return { kind: 'none' };
}

function oneOrSeveral(found: readonly Candidate[]): Match {
  return found.length === 1 ? { kind: 'one', candidate: found[0]! } : { kind: 'several', candidates: found };
}

/** `web (8381b5c0a863)`, for error lists; printable whatever the engine said. */
export function describeCandidate(candidate: Candidate): string {
  const id = escapeUntrusted(candidate.id.length === 64 ? candidate.id.slice(0, 12) : candidate.id);
  const name = candidate.names[0];
  return name === undefined || name === candidate.id ? id : `${escapeUntrusted(name)} (${id})`;
}

/** The error for a Match that is not exactly one running container; undefined when it is. */
export function matchProblem(what: string, match: Match): string | undefined {
  switch (match.kind) {
    case 'none':
      return `${what}: no such container`;
    case 'several':
      return `${what}: matches ${match.candidates.length} containers: ${match.candidates.map(describeCandidate).join(', ')}`;
    case 'one':
      if (!match.candidate.running && match.candidate.distrusted !== undefined) {
        return `${what}: container ${describeCandidate(match.candidate)} is not entered from its state files: ${escapeUntrusted(match.candidate.distrusted)} (use the engine's API socket, or -t PID)`;
      }
      if (!match.candidate.running) {
        return `${what}: container ${describeCandidate(match.candidate)} is not running (${escapeUntrusted(match.candidate.state)})`;
      }
      return undefined;
  }
}
