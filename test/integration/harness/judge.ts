/** Starts the judge service in-process on a free loopback port, for integration tests. */

import { loadConfig, type Env } from '../../../src/config/index.js';
import { startService, type RunningService } from '../../../src/main.js';
import { createLogger } from '../../../src/observability/index.js';

export interface JudgeHandle {
  readonly url: string;
  readonly service: RunningService;
  /** POSTs an analysis body; returns status and decoded JSON. */
  analyze(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startJudge(prometheusUrl: string, env: Env = {}): Promise<JudgeHandle> {
  const config = loadConfig({
    CANARY_JUDGE_PROMETHEUS_URL: prometheusUrl,
    CANARY_JUDGE_HOST: '127.0.0.1',
    // Any free port, so test files running side by side never fight over the default 9090.
    CANARY_JUDGE_GRPC_PORT: '0',
    ...env,
  });
  const logger = createLogger({ level: 'warn', silent: process.env['CANARY_JUDGE_TEST_LOGS'] !== '1' });
  const service = await startService({ ...config, port: 0 }, logger);
  const url = `http://127.0.0.1:${service.port}`;
  return {
    url,
    service,
    async analyze(body, headers = {}) {
      const res = await fetch(`${url}/api/v1/analyses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`judge answered non-JSON (${res.status}): ${text.slice(0, 200)}`);
      }
      return { status: res.status, body: parsed };
    },
    close: () => service.stop(),
  };
}
