/**
 * Stand-ins for catalogo: small real HTTP servers answering the catalogue API the way each
 * release does, for the contract gate's tests (integration, Argo contract, end to end).
 *
 *   v1.1             the contract's own version (contracts/catalogo/openapi.yaml)
 *   v1.2-compatible  adds a field (`rating`) and an endpoint (`/titles/{id}/similar`): allowed
 *   v1.2-breaking    renames `name` → `title` in title summaries (lists and search), retypes
 *                    `year` to a string in a title by id, drops `/search` (404), and answers
 *                    404 for the film tt0002 where v1.1 answers 200
 *
 * Run alone: `tsx test/support/catalogo-standins.ts --variant v1.2-breaking --port 8081`
 * (prints `listening <port>`; 127.0.0.1 only).
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export const VARIANTS = ['v1.1', 'v1.2-compatible', 'v1.2-breaking'] as const;
export type Variant = (typeof VARIANTS)[number];

interface Title {
  id: string;
  name: string;
  kind: 'film' | 'series';
  year: number;
  genres: string[];
  durationMinutes: number;
  seasons?: number;
  rating: number;
}

const TITLES: readonly Title[] = [
  {
    id: 'tt0001',
    name: 'Mar de fondo',
    kind: 'series',
    year: 2025,
    genres: ['drama', 'thriller'],
    durationMinutes: 52,
    seasons: 2,
    rating: 4.4,
  },
  {
    id: 'tt0002',
    name: 'La marea',
    kind: 'film',
    year: 2024,
    genres: ['drama'],
    durationMinutes: 118,
    rating: 3.9,
  },
  {
    id: 'tt0003',
    name: 'Risas en el metro',
    kind: 'series',
    year: 2023,
    genres: ['comedy'],
    durationMinutes: 24,
    seasons: 4,
    rating: 4.1,
  },
  {
    id: 'tt0004',
    name: 'Océanos',
    kind: 'film',
    year: 2022,
    genres: ['documentary', 'kids'],
    durationMinutes: 90,
    rating: 4.7,
  },
];

function summary(t: Title, v: Variant): Record<string, unknown> {
  const base = { id: t.id, kind: t.kind, year: t.year };
  if (v === 'v1.2-breaking') return { ...base, title: t.name };
  if (v === 'v1.2-compatible') return { ...base, name: t.name, rating: t.rating };
  return { ...base, name: t.name };
}

function full(t: Title, v: Variant): Record<string, unknown> {
  const { rating, ...rest } = t;
  if (v === 'v1.2-breaking') return { ...rest, year: String(t.year) };
  if (v === 'v1.2-compatible') return { ...rest, rating };
  return rest;
}

type Reply = { status: number; body: unknown };
const problem = (status: number, code: string, message: string): Reply => ({
  status,
  body: { code, message },
});

export function answer(v: Variant, method: string, target: string): Reply {
  const u = new URL(target, 'http://catalogo');
  if (method !== 'GET') return problem(405, 'method_not_allowed', 'read-only stand-in');
  if (u.pathname === '/healthz' || u.pathname === '/readyz') return { status: 200, body: { status: 'ok' } };
  if (u.pathname === '/titles') {
    const limit = Number(u.searchParams.get('limit') ?? '20');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return problem(400, 'bad_limit', 'limit is 1-100');
    const genre = u.searchParams.get('genre');
    const all = TITLES.filter((t) => genre === null || t.genres.includes(genre));
    return { status: 200, body: { items: all.slice(0, limit).map((t) => summary(t, v)), total: all.length } };
  }
  const similar = /^\/titles\/([^/]+)\/similar$/.exec(u.pathname);
  if (similar !== null && v === 'v1.2-compatible') {
    return {
      status: 200,
      body: { items: TITLES.filter((t) => t.id !== similar[1]).map((t) => summary(t, v)) },
    };
  }
  const byId = /^\/titles\/([^/]+)$/.exec(u.pathname);
  if (byId !== null) {
    const t = TITLES.find((x) => x.id === decodeURIComponent(byId[1] as string));
    if (t === undefined || (v === 'v1.2-breaking' && t.kind === 'film'))
      return problem(404, 'not_found', `no title ${byId[1]}`);
    return { status: 200, body: full(t, v) };
  }
  if (u.pathname === '/search' && v !== 'v1.2-breaking') {
    const q = (u.searchParams.get('q') ?? '').toLowerCase();
    if (q === '') return problem(400, 'bad_query', 'q is required');
    const hits = TITLES.filter((t) => t.name.toLowerCase().includes(q));
    return {
      status: 200,
      body: { query: q, results: hits.map((t, i) => ({ title: summary(t, v), score: 1 / (i + 1) })) },
    };
  }
  return problem(404, 'not_found', `no route ${u.pathname}`);
}

export interface StandIn {
  readonly url: string;
  readonly port: number;
  /** Requests served so far, as `GET /path?query`. */
  readonly served: readonly string[];
  /** Which release it answers as from now on (a test swaps the canary's behaviour between runs). */
  setVariant(v: Variant): void;
  close(): Promise<void>;
}

/** Starts a stand-in of `variant` on 127.0.0.1 (port 0: any free port). */
export async function startStandIn(variant: Variant, port = 0): Promise<StandIn> {
  const served: string[] = [];
  let current = variant;
  const server: Server = createServer((req, res) => {
    served.push(`${req.method ?? ''} ${req.url ?? ''}`);
    const r = answer(current, req.method ?? 'GET', req.url ?? '/');
    res.writeHead(r.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(r.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    served,
    setVariant: (v) => {
      current = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? undefined : process.argv[i + 1];
  };
  const variant = arg('variant') as Variant | undefined;
  if (variant === undefined || !VARIANTS.includes(variant)) {
    console.error(`usage: catalogo-standins.ts --variant ${VARIANTS.join('|')} [--port N]`);
    process.exit(2);
  }
  const s = await startStandIn(variant, Number(arg('port') ?? '0'));
  console.log(`listening ${s.port}`);
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
}
