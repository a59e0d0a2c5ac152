// A minimal client of the test cluster's API server: HTTPS with the cluster's CA and a bearer
// token, JSON in and out. Enough for the harness and the mesh simulator to read Rollouts,
// AnalysisRuns, VirtualServices, Services and Pods without spawning kubectl for every poll.
import { request } from 'node:https';

export interface KubeAccess {
  readonly server: string; // https://127.0.0.1:PORT
  readonly token: string;
  readonly ca: string; // PEM
}

export class KubeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Obj = Record<string, unknown>;

export class Kube {
  constructor(private readonly access: KubeAccess) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<Obj> {
    const url = new URL(path, this.access.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<Obj>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.access.ca,
          timeout: 10_000,
          headers: {
            Authorization: `Bearer ${this.access.token}`,
            Accept: 'application/json',
            ...(payload === undefined
              ? {}
              : { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              reject(new KubeError(status, `${method} ${path} → ${status}: ${text.slice(0, 500)}`));
              return;
            }
            try {
              resolve(text === '' ? {} : (JSON.parse(text) as Obj));
            } catch {
              resolve({ raw: text });
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /**
   * Watches a collection (newline-delimited JSON events) and calls onEvent for every change, so
   * that short-lived states a poll would miss are seen. Reconnects from the last resourceVersion
   * until stopped.
   */
  watch(path: string, onEvent: (type: string, obj: Obj) => void): () => void {
    let stopped = false;
    let current: ReturnType<typeof request> | undefined;
    let resourceVersion = '';
    const connect = (): void => {
      if (stopped) return;
      const url = new URL(path, this.access.server);
      url.searchParams.set('watch', '1');
      if (resourceVersion !== '') url.searchParams.set('resourceVersion', resourceVersion);
      const req = request(
        url,
        {
          method: 'GET',
          ca: this.access.ca,
          headers: { Authorization: `Bearer ${this.access.token}`, Accept: 'application/json' },
        },
        (res) => {
          let buf = '';
          res.on('data', (c: Buffer) => {
            buf += c.toString('utf8');
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (line.trim() === '') continue;
              try {
                const ev = JSON.parse(line) as { type?: string; object?: Obj };
                const rv = at(ev.object, 'metadata', 'resourceVersion');
                if (ev.type === 'ERROR') resourceVersion = '';
                else if (typeof rv === 'string') resourceVersion = rv;
                if (ev.type !== undefined && ev.object !== undefined) onEvent(ev.type, ev.object);
              } catch {
                // a partial or foreign line: ignore
              }
            }
          });
          res.on('end', () => setTimeout(connect, 200));
          res.on('error', () => setTimeout(connect, 500));
        },
      );
      req.on('error', () => setTimeout(connect, 500));
      req.end();
      current = req;
    };
    connect();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  get(path: string): Promise<Obj> {
    return this.request('GET', path);
  }

  async getOrUndefined(path: string): Promise<Obj | undefined> {
    try {
      return await this.get(path);
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  async list(path: string): Promise<Obj[]> {
    const res = await this.get(path);
    return Array.isArray(res['items']) ? (res['items'] as Obj[]) : [];
  }

  patch(path: string, body: unknown, type: 'merge' | 'json' = 'merge'): Promise<Obj> {
    return this.request(
      'PATCH',
      path,
      body,
      type === 'merge' ? 'application/merge-patch+json' : 'application/json-patch+json',
    );
  }

  async delete(path: string): Promise<void> {
    try {
      await this.request('DELETE', path, { propagationPolicy: 'Foreground' });
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return;
      throw err;
    }
  }
}

/** Reads a nested field: at(obj, 'status', 'phase'). */
export function at(obj: unknown, ...keys: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function rec(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
