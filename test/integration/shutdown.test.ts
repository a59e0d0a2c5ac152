/**
 * SIGTERM under load: the judge as a real process (`node --import tsx src/main.ts`), 50 clients
 * posting analyses back to back over keep-alive connections, Prometheus (the fault-injecting
 * stand-in, answering honestly after 300 ms so analyses are in flight) behind it. No request may
 * be lost — each is answered (200, or 503 shutting_down that Argo retries) or refused before
 * the judge read it (connection refused or reset: Argo records an Error and retries) — and the
 * process must exit within 2 s of its last answer, not at the 25 s shutdown timeout.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CANARY_HASH,
  STABLE_HASH,
  startFaultPrometheus,
  type FaultPrometheus,
} from './harness/fault-prometheus.js';
import { freePort } from '../support/net.js';

const CLIENTS = 50;
let prom: FaultPrometheus;
let child: ChildProcess | undefined;

beforeAll(async () => {
  prom = await startFaultPrometheus();
  prom.delayMs = 300;
});

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await prom?.close();
});

const end = Math.floor(Date.now() / 3_600_000) * 3600;
const body = JSON.stringify({
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
  start: new Date((end - 1800) * 1000).toISOString(),
  end: new Date(end * 1000).toISOString(),
  interval: '60s',
  checks: [{ type: 'error-rate' }],
});

type Outcome =
  | { kind: 'answered'; status: number; code?: string; connection: string | null; at: number }
  | { kind: 'refused'; cause: string; at: number };

function causeOf(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur !== null && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return String(e);
}

describe('SIGTERM during a 50-concurrent keep-alive load', () => {
  it('answers or refuses every request, closes the busy connections after their answers, and exits within 2 s of the last answer', async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        CANARY_JUDGE_PROMETHEUS_URL: prom.url,
        CANARY_JUDGE_HOST: '127.0.0.1',
        CANARY_JUDGE_PORT: String(port),
        CANARY_JUDGE_GRPC_PORT: '0',
        CANARY_JUDGE_MAX_ANALYSES: String(CLIENTS),
        CANARY_JUDGE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number>((resolve) => child?.once('exit', () => resolve(performance.now())));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // not listening yet
      }
      if (i > 300) throw new Error(`judge not ready:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const outcomes: Outcome[] = [];
    let stopped = false;
    const client = async (): Promise<void> => {
      while (!stopped) {
        try {
          const res = await fetch(`${url}/api/v1/analyses`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          const json = (await res.json()) as { error?: { code?: string } };
          outcomes.push({
            kind: 'answered',
            status: res.status,
            ...(json.error?.code === undefined ? {} : { code: json.error.code }),
            connection: res.headers.get('connection'),
            at: performance.now(),
          });
        } catch (e) {
          outcomes.push({ kind: 'refused', cause: causeOf(e), at: performance.now() });
          // Once the listener is gone every new connection is refused: this client is done.
          if (causeOf(e) === 'ECONNREFUSED') return;
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, () => client());
    // Load running: every client has had at least one answer, and keeps posting.
    for (let i = 0; i < 300 && outcomes.filter((o) => o.kind === 'answered').length < 2 * CLIENTS; i++)
      await new Promise((r) => setTimeout(r, 50));
    const answeredBefore = outcomes.filter((o) => o.kind === 'answered' && o.status === 200).length;
    const sigterm = performance.now();
    child.kill('SIGTERM');
    const exitAt = await exited;
    stopped = true;
    await Promise.all(clients);

    const answers = outcomes.filter(
      (o): o is Extract<Outcome, { kind: 'answered' }> => o.kind === 'answered',
    );
    const lastAnswer = Math.max(...answers.map((o) => o.at));
    const afterTerm = answers.filter((o) => o.at > sigterm);
    const refused = outcomes.filter((o): o is Extract<Outcome, { kind: 'refused' }> => o.kind === 'refused');
    const summary = {
      answeredBeforeSigterm: answeredBefore,
      answeredAfterSigterm: afterTerm.length,
      closedAfterSigterm: afterTerm.filter((o) => o.connection === 'close').length,
      statusesAfterSigterm: [
        ...new Set(afterTerm.map((o) => `${o.status}${o.code === undefined ? '' : ` ${o.code}`}`)),
      ].sort(),
      refused: [...new Set(refused.map((o) => o.cause))].sort(),
      exitAfterSigtermMs: Math.round(exitAt - sigterm),
      exitAfterLastAnswerMs: Math.round(exitAt - lastAnswer),
    };
    console.log(`shutdown under load: ${JSON.stringify(summary)}`);

    expect(answeredBefore).toBeGreaterThanOrEqual(2 * CLIENTS);
    // Analyses in flight at SIGTERM were finished and answered.
    expect(afterTerm.some((o) => o.status === 200)).toBe(true);
    // Every answer after SIGTERM is a verdict or a retryable refusal. Those given once the
    // process had seen the signal close their connection (answers already on their way when it
    // arrived may not: the client's clock cannot tell them apart, so this asserts that the
    // analyses in flight at SIGTERM were answered with close, and every refusal was).
    for (const o of afterTerm) {
      expect([200, 503]).toContain(o.status);
      if (o.status === 503) expect([o.code, o.connection]).toEqual(['shutting_down', 'close']);
    }
    expect(afterTerm.some((o) => o.status === 200 && o.connection === 'close')).toBe(true);
    // Requests the judge never read: refused at connect, or their idle connection closed under them.
    for (const o of refused) expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(o.cause);
    expect(exitAt - lastAnswer).toBeLessThan(2_000);
    expect(exitAt - sigterm).toBeLessThan(5_000);
  });
});
