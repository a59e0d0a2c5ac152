import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Env } from '../../../src/config/config.js';

const URL_ENV = { CANARY_JUDGE_PROMETHEUS_URL: 'http://prometheus.monitoring:9090/' };

function problems(env: Env, files: Record<string, string> = {}): readonly string[] {
  try {
    loadConfig(env, (p) => {
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return v;
    });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('configuration from the environment', () => {
  it('uses documented defaults with only the Prometheus URL set', () => {
    const c = loadConfig(URL_ENV);
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      authToken: undefined,
      prometheus: {
        url: 'http://prometheus.monitoring:9090',
        timeoutMs: 5000,
        headers: {},
        maxResponseBytes: 8 * 1024 * 1024,
      },
      admission: { maxInFlight: 16, maxQueued: 64, queueWaitMs: 2000 },
      deadlineMs: 8000,
      queryConcurrency: 4,
      lookbackSeconds: 86400,
      shutdownTimeoutMs: 25000,
      logLevel: 'info',
      durationUnit: 'milliseconds',
    });
    expect(c.mesh.requestsMetric).toBe('istio_requests_total');
    expect(c.mesh.labels.pod).toBe('pod');
    expect(c.mesh.scrapeLabels).toEqual(['job', 'instance']);
  });

  it('reads the scrape labels to deduplicate on, none to turn it off, and refuses identity labels', () => {
    expect(
      loadConfig({ ...URL_ENV, CANARY_JUDGE_SCRAPE_LABELS: 'job, instance,prometheus_replica' }).mesh
        .scrapeLabels,
    ).toEqual(['job', 'instance', 'prometheus_replica']);
    expect(loadConfig({ ...URL_ENV, CANARY_JUDGE_SCRAPE_LABELS: 'none' }).mesh.scrapeLabels).toEqual([]);
    expect(problems({ ...URL_ENV, CANARY_JUDGE_SCRAPE_LABELS: 'job,pod' })).toEqual([
      'CANARY_JUDGE_SCRAPE_LABELS: "pod" tells series apart, not scrapes; merging on it would lose counts',
    ]);
  });

  it('bounds the Prometheus answer size and admission, with the queue wait inside the deadline', () => {
    const c = loadConfig({
      ...URL_ENV,
      CANARY_JUDGE_PROMETHEUS_MAX_RESPONSE_BYTES: '1048576',
      CANARY_JUDGE_MAX_ANALYSES: '8',
      CANARY_JUDGE_ANALYSIS_QUEUE: '0',
      CANARY_JUDGE_ANALYSIS_QUEUE_WAIT: '500ms',
    });
    expect(c.prometheus.maxResponseBytes).toBe(1048576);
    expect(c.admission).toEqual({ maxInFlight: 8, maxQueued: 0, queueWaitMs: 500 });
    expect(loadConfig({ ...URL_ENV, CANARY_JUDGE_ANALYSIS_DEADLINE: '1s' }).admission.queueWaitMs).toBe(250);
    expect(problems({ ...URL_ENV, CANARY_JUDGE_ANALYSIS_QUEUE_WAIT: '8s' })).toEqual([
      'CANARY_JUDGE_ANALYSIS_QUEUE_WAIT must be shorter than CANARY_JUDGE_ANALYSIS_DEADLINE (the wait counts against it)',
    ]);
  });

  it('requires the Prometheus URL', () => {
    expect(problems({})).toContain(
      'CANARY_JUDGE_PROMETHEUS_URL is required (e.g. http://prometheus.monitoring:9090)',
    );
  });

  it('reports every problem at once, one line each', () => {
    const p = problems({
      CANARY_JUDGE_PROMETHEUS_URL: 'not a url',
      CANARY_JUDGE_PORT: '99999',
      CANARY_JUDGE_PROMETHEUS_TIMEOUT: '5 seconds',
      CANARY_JUDGE_QUERY_CONCURRENCY: '0',
      CANARY_JUDGE_LOG_LEVEL: 'trace',
      CANARY_JUDGE_REQUESTS_METRIC: 'bad-name',
      CANARY_JUDGE_LABEL_POD: '1pod',
      CANARY_JUDGE_DURATION_UNIT: 'minutes',
    });
    const expected = [
      'CANARY_JUDGE_PROMETHEUS_URL="not a url" is not a URL',
      'CANARY_JUDGE_PORT="99999" must be an integer between 1 and 65535',
      'CANARY_JUDGE_LOG_LEVEL="trace" must be one of error, warn, info, debug',
      'CANARY_JUDGE_DURATION_UNIT="minutes" must be milliseconds or seconds',
      'CANARY_JUDGE_PROMETHEUS_TIMEOUT="5 seconds" is not a duration like 500ms, 5s, 2m or 24h',
      'CANARY_JUDGE_QUERY_CONCURRENCY="0" must be an integer between 1 and 64',
      'CANARY_JUDGE_REQUESTS_METRIC="bad-name" is not a valid Prometheus metric name',
      'CANARY_JUDGE_LABEL_POD="1pod" is not a valid Prometheus label name',
    ];
    expect([...p].sort()).toEqual([...expected].sort());
    // The message of the thrown error lists them all.
    expect(() => loadConfig({ CANARY_JUDGE_PROMETHEUS_URL: 'x', CANARY_JUDGE_PORT: 'y' })).toThrow(
      /invalid configuration:\n {2}- .*\n {2}- /,
    );
  });

  it('names the problems across variables beside those of single variables, all at once', () => {
    const p = problems(
      {
        CANARY_JUDGE_PORT: 'http',
        CANARY_JUDGE_GRPC_PORT: '-1',
        CANARY_JUDGE_PROMETHEUS_TIMEOUT: '1m30s',
        CANARY_JUDGE_PROMETHEUS_HEADERS: '["X-A"]',
        CANARY_JUDGE_PROMETHEUS_TENANT_HEADER: 'Org ID',
        CANARY_JUDGE_PROMETHEUS_BEARER_TOKEN: 'tok',
        CANARY_JUDGE_PROMETHEUS_USERNAME: 'u',
        CANARY_JUDGE_AUTH_TOKEN_FILE: '/empty',
        CANARY_JUDGE_PROMETHEUS_PASSWORD: 'pw',
        CANARY_JUDGE_PROMETHEUS_PASSWORD_FILE: '/pw',
        CANARY_JUDGE_ANALYSIS_DEADLINE: '2s',
        CANARY_JUDGE_ANALYSIS_QUEUE_WAIT: '3s',
        CANARY_JUDGE_SCRAPE_LABELS: 'job,pod,1x',
        CANARY_JUDGE_CONTRACTS_DIR: '/contracts',
        CANARY_JUDGE_CONTRACT_MAX_REQUESTS: '1',
      },
      { '/empty': '\n', '/pw': 'pw' },
    );
    expect([...p].sort()).toEqual(
      [
        'CANARY_JUDGE_PROMETHEUS_URL is required (e.g. http://prometheus.monitoring:9090)',
        'CANARY_JUDGE_PORT="http" must be an integer between 1 and 65535',
        'CANARY_JUDGE_GRPC_PORT="-1" must be a port (0-65535, 0 = any free port) or off',
        'CANARY_JUDGE_PROMETHEUS_TIMEOUT="1m30s" is not a duration like 500ms, 5s, 2m or 24h',
        'CANARY_JUDGE_PROMETHEUS_HEADERS must be a JSON object of header names to values, e.g. {"X-Foo":"bar"}',
        'CANARY_JUDGE_PROMETHEUS_TENANT_HEADER="Org ID" is not a header name',
        'CANARY_JUDGE_AUTH_TOKEN_FILE: file /empty is empty',
        'CANARY_JUDGE_PROMETHEUS_PASSWORD and CANARY_JUDGE_PROMETHEUS_PASSWORD_FILE are both set; set one',
        'set either CANARY_JUDGE_PROMETHEUS_BEARER_TOKEN or USERNAME/PASSWORD, not both',
        'CANARY_JUDGE_ANALYSIS_QUEUE_WAIT must be shorter than CANARY_JUDGE_ANALYSIS_DEADLINE (the wait counts against it)',
        'CANARY_JUDGE_SCRAPE_LABELS: "1x" is not a valid Prometheus label name (or set none)',
        'CANARY_JUDGE_SCRAPE_LABELS: "pod" tells series apart, not scrapes; merging on it would lose counts',
        'CANARY_JUDGE_CONTRACTS_DIR is set but CANARY_JUDGE_CONTRACT_TARGETS is empty: name the hosts contract checks may reach',
        'CANARY_JUDGE_CONTRACT_MAX_REQUESTS="1" must be an integer between 2 and 1000',
      ].sort(),
    );
  });

  it('does not read a secret file when the secret is also given directly', () => {
    const read: string[] = [];
    expect(() =>
      loadConfig(
        {
          ...URL_ENV,
          CANARY_JUDGE_AUTH_TOKEN: 'a-token-of-sixteen-chars',
          CANARY_JUDGE_AUTH_TOKEN_FILE: '/t',
        },
        (p) => {
          read.push(p);
          return 'another-token-of-sixteen';
        },
      ),
    ).toThrow(/AUTH_TOKEN and CANARY_JUDGE_AUTH_TOKEN_FILE are both set/);
    expect(read).toEqual([]);
  });

  it('refuses credentials in the URL and a non-http scheme', () => {
    expect(problems({ CANARY_JUDGE_PROMETHEUS_URL: 'http://u:p@prom:9090' })[0]).toMatch(
      /must not carry credentials/,
    );
    expect(problems({ CANARY_JUDGE_PROMETHEUS_URL: 'ftp://prom' })[0]).toMatch(/http:\/\/ or https:\/\//);
  });

  it('assembles bearer, tenant and extra headers for Thanos/Mimir', () => {
    const c = loadConfig({
      ...URL_ENV,
      CANARY_JUDGE_PROMETHEUS_BEARER_TOKEN: 'tok',
      CANARY_JUDGE_PROMETHEUS_TENANT: 'team-a',
      CANARY_JUDGE_PROMETHEUS_HEADERS: '{"X-Extra":"1"}',
    });
    expect(c.prometheus.headers).toEqual({
      Authorization: 'Bearer tok',
      'X-Scope-OrgID': 'team-a',
      'X-Extra': '1',
    });
    const d = loadConfig({
      ...URL_ENV,
      CANARY_JUDGE_PROMETHEUS_TENANT: 't',
      CANARY_JUDGE_PROMETHEUS_TENANT_HEADER: 'X-Tenant',
    });
    expect(d.prometheus.headers).toEqual({ 'X-Tenant': 't' });
  });

  it('builds basic auth from a username and a password file', () => {
    const c = loadConfig(
      {
        ...URL_ENV,
        CANARY_JUDGE_PROMETHEUS_USERNAME: 'judge',
        CANARY_JUDGE_PROMETHEUS_PASSWORD_FILE: '/secrets/pw',
      },
      (p) => (p === '/secrets/pw' ? 's3cret\n' : ''),
    );
    expect(c.prometheus.headers['Authorization']).toBe(
      `Basic ${Buffer.from('judge:s3cret').toString('base64')}`,
    );
  });

  it('refuses conflicting or incomplete credentials', () => {
    expect(
      problems({
        ...URL_ENV,
        CANARY_JUDGE_PROMETHEUS_BEARER_TOKEN: 't',
        CANARY_JUDGE_PROMETHEUS_USERNAME: 'u',
      })[0],
    ).toMatch(/not both/);
    expect(problems({ ...URL_ENV, CANARY_JUDGE_PROMETHEUS_USERNAME: 'u' })[0]).toMatch(/go together/);
    expect(
      problems({ ...URL_ENV, CANARY_JUDGE_AUTH_TOKEN: 'x', CANARY_JUDGE_AUTH_TOKEN_FILE: '/t' })[0],
    ).toMatch(/both set/);
    expect(problems({ ...URL_ENV, CANARY_JUDGE_AUTH_TOKEN_FILE: '/missing' })[0]).toMatch(
      /cannot read \/missing \(ENOENT\)/,
    );
    expect(problems({ ...URL_ENV, CANARY_JUDGE_AUTH_TOKEN: 'short' })[0]).toMatch(/at least 16/);
  });

  it('refuses malformed extra headers', () => {
    expect(problems({ ...URL_ENV, CANARY_JUDGE_PROMETHEUS_HEADERS: 'X-A: 1' })[0]).toMatch(/JSON object/);
    expect(problems({ ...URL_ENV, CANARY_JUDGE_PROMETHEUS_HEADERS: '{"bad header":"1"}' })[0]).toMatch(
      /valid name/,
    );
    expect(problems({ ...URL_ENV, CANARY_JUDGE_PROMETHEUS_HEADERS: '{"X-A":"1\\r\\nX-B: 2"}' })[0]).toMatch(
      /one-line/,
    );
  });

  it('reads the judge token from a file', () => {
    const c = loadConfig(
      { ...URL_ENV, CANARY_JUDGE_AUTH_TOKEN_FILE: '/t' },
      () => 'a-token-of-sixteen-chars\n',
    );
    expect(c.authToken).toBe('a-token-of-sixteen-chars');
  });

  it('accepts other mesh names and a seconds histogram', () => {
    const c = loadConfig({
      ...URL_ENV,
      CANARY_JUDGE_REQUESTS_METRIC: 'response_total',
      CANARY_JUDGE_DURATION_METRIC: 'http_request_duration_seconds',
      CANARY_JUDGE_DURATION_UNIT: 'seconds',
      CANARY_JUDGE_LABEL_RESPONSE_CODE: 'status',
    });
    expect(c.mesh.requestsMetric).toBe('response_total');
    expect(c.mesh.labels.responseCode).toBe('status');
    expect(c.durationUnit).toBe('seconds');
  });
});
