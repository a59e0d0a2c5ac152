/**
 * The allow-list of a contract check's targets: the judge fetches only URLs whose host (and
 * port) match a pattern of its configuration, so a caller cannot turn it into a way to reach
 * arbitrary addresses. Patterns are `host`, `host:port`, `*.domain` or `*.domain:port`; a
 * pattern without a port allows any port, `*.` stands for one or more leading DNS labels.
 * Matching is on the URL's host as written (no DNS resolution), case-insensitive.
 */

import { JudgeError } from '../errors.js';

export interface TargetPattern {
  /** Exact host, or the suffix after `*.` (with its leading dot). */
  readonly host: string;
  readonly wildcard: boolean;
  /** undefined: any port. */
  readonly port: number | undefined;
  readonly text: string;
}

const HOST = /^(?:\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$/;

/** Parses a comma-separated list of patterns; returns one problem per bad pattern. */
export function parseTargetPatterns(raw: string): { patterns: TargetPattern[]; problems: string[] } {
  const patterns: TargetPattern[] = [];
  const problems: string[] = [];
  for (const part of raw.split(',').map((p) => p.trim().toLowerCase())) {
    if (part === '') continue;
    const m = /^(.*?)(?::(\d{1,5}))?$/.exec(part);
    const host = m?.[1] ?? '';
    const port = m?.[2] === undefined ? undefined : Number(m[2]);
    if (!HOST.test(host) || (port !== undefined && (port < 1 || port > 65535))) {
      problems.push(
        `"${part}" is not a host pattern like catalogo-canary.catalogo.svc.cluster.local:8080 or *.catalogo.svc.cluster.local`,
      );
      continue;
    }
    const wildcard = host.startsWith('*.');
    patterns.push({ host: wildcard ? host.slice(1) : host, wildcard, port, text: part });
  }
  return { patterns, problems };
}

function defaultPort(u: URL): number {
  return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/**
 * The target URL of `field` if the allow-list admits it: http(s), no credentials, no query or
 * fragment (the contract's requests bring their own), host and port matching a pattern.
 */
export function admitTarget(raw: string, field: string, patterns: readonly TargetPattern[]): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new JudgeError('invalid_request', `${field} is not a URL`, { field });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new JudgeError('invalid_request', `${field} must be an http:// or https:// URL`, { field });
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '')
    throw new JudgeError('invalid_request', `${field} must carry no credentials, query or fragment`, {
      field,
    });
  const host = u.hostname.toLowerCase();
  const port = defaultPort(u);
  const ok = patterns.some(
    (p) =>
      (p.wildcard ? host.endsWith(p.host) && host.length > p.host.length : host === p.host) &&
      (p.port === undefined || p.port === port),
  );
  if (!ok) {
    throw new JudgeError(
      'target_not_allowed',
      `${field}: ${u.host} is not in the judge's contract targets (CANARY_JUDGE_CONTRACT_TARGETS: ${patterns.map((p) => p.text).join(', ') || 'none'})`,
      { field },
    );
  }
  return u;
}
