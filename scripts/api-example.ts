/**
 * Prints a real exchange with the judge for the docs (docs/api.md, the README): a real
 * Prometheus (Debian package) holding 30 minutes of the integration tests' `error-3x` scenario
 * (v1.2 answers 503 three times as often as v1.1), and the body an AnalysisTemplate sends.
 *
 *   npx tsx scripts/api-example.ts > /tmp/exchange.json
 */
import { startJudge } from '../test/integration/harness/judge.js';
import { startPrometheus } from '../test/support/prometheus.js';
import { CANARY_HASH, STABLE_HASH, combined } from '../test/integration/harness/scenarios.js';
import { openMetrics } from '../test/integration/harness/simulation.js';

const now = Math.floor(Date.now() / 1000);
const t0 = Math.floor((now - 3600) / 60) * 60;
const prom = await startPrometheus({ backfill: openMetrics(combined(['error-3x'], 42), t0, 1800, 15) });
const judge = await startJudge(prom.url);
try {
  const body = {
    rollout: { name: 'catalogo', namespace: 'error-3x' },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: 'canary-first-sample',
    end: new Date((t0 + 1800) * 1000).toISOString(),
    interval: '60s',
    checks: [
      {
        type: 'error-rate',
        errorCodes: '5xx',
        alpha: '0.01',
        margin: '0',
        criticalEffect: '2',
        criticalIncrease: '0.001',
        power: '0.8',
        critical: 'true',
      },
      {
        type: 'latency',
        quantile: '0.99',
        alpha: '0.01',
        margin: '0',
        criticalEffect: '2',
        criticalIncrease: '0.001',
        power: '0.8',
        critical: 'true',
      },
    ],
  };
  const res = await judge.analyze(body);
  process.stdout.write(
    `${JSON.stringify({ request: body, status: res.status, response: res.body }, null, 2)}\n`,
  );
} finally {
  await judge.close();
  await prom.close();
}
