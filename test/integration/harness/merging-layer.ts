/**
 * A naive query layer in front of several real Prometheus servers: it sends each range query to
 * every store as it came and concatenates the answers, each series tagged with its store's
 * external label — what a global view that merges per-store answers (instead of evaluating the
 * query over the merged series) hands its clients. A `sum(…)` then answers one series per store
 * that has data, with different labels: summed by its client, a store holding extra series
 * inflates the counts. Instant queries (the judge's `vector(1)` ping) go to the first store.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Store {
  /** Value of the external label the layer adds to this store's series. */
  readonly name: string;
  readonly url: string;
}

export interface MergingLayer {
  readonly url: string;
  close(): Promise<void>;
}

interface Matrix {
  status: string;
  data?: { resultType?: string; result?: { metric: Record<string, string>; values: unknown[] }[] };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function forward(store: Store, path: string, form: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${store.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  return { status: res.status, text: await res.text() };
}

/** Starts the layer on a free loopback port; `label` is the external label's name. */
export async function startMergingLayer(stores: readonly Store[], label = 'store'): Promise<MergingLayer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? '';
      const form = await readBody(req);
      if (path !== '/api/v1/query_range') {
        const first = await forward(stores[0] as Store, path, form);
        send(res, first.status, first.text);
        return;
      }
      const answers = await Promise.all(stores.map((s) => forward(s, path, form)));
      const failed = answers.find((a) => a.status !== 200);
      if (failed !== undefined) {
        send(res, failed.status, failed.text);
        return;
      }
      const result = answers.flatMap((a, i) =>
        ((JSON.parse(a.text) as Matrix).data?.result ?? []).map((s) => ({
          ...s,
          metric: { ...s.metric, [label]: (stores[i] as Store).name },
        })),
      );
      send(res, 200, JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } }));
    })().catch((e: unknown) => {
      send(res, 502, JSON.stringify({ status: 'error', errorType: 'layer', error: String(e) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
