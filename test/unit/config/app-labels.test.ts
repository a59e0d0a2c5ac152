/** Label names of applications' own metrics (ratio checks' `$selector`): defaults, overrides, refusals. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Env } from '../../../src/config/config.js';

const URL_ENV = { CANARY_JUDGE_PROMETHEUS_URL: 'http://prometheus.monitoring:9090/' };

function problems(env: Env): readonly string[] {
  try {
    loadConfig({ ...URL_ENV, ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('application label names', () => {
  it('default to what Kubernetes pod discovery is usually relabelled to', () => {
    expect(loadConfig(URL_ENV).app).toEqual({ namespace: 'namespace', pod: 'pod', version: 'version' });
  });

  it('are configurable', () => {
    const c = loadConfig({
      ...URL_ENV,
      CANARY_JUDGE_APP_LABEL_NAMESPACE: 'kubernetes_namespace',
      CANARY_JUDGE_APP_LABEL_POD: 'kubernetes_pod_name',
      CANARY_JUDGE_APP_LABEL_VERSION: 'app_version',
    });
    expect(c.app).toEqual({
      namespace: 'kubernetes_namespace',
      pod: 'kubernetes_pod_name',
      version: 'app_version',
    });
  });

  it('must be label names, and none may be a scrape label', () => {
    expect(problems({ CANARY_JUDGE_APP_LABEL_POD: 'pod-name' })).toEqual([
      'CANARY_JUDGE_APP_LABEL_POD="pod-name" is not a valid Prometheus label name',
    ]);
    expect(problems({ CANARY_JUDGE_APP_LABEL_NAMESPACE: 'job' })).toEqual([
      expect.stringMatching(/SCRAPE_LABELS: "job" tells series apart/),
    ]);
  });
});
