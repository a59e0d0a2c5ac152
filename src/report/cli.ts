/**
 * `canary-judge report ROLLOUT -n NAMESPACE [--judge URL] [--token-file FILE] [--html FILE]
 * [--kubeconfig FILE]`: what a person at a pause reads before choosing promote or abort.
 * Reads the Rollout, its ReplicaSets and AnalysisRuns, asks the judge for the evidence over the
 * canary's whole life, prints the summary, and with --html writes a self-contained page with
 * charts. Exit 0 when the report was made, 1 on a usage or cluster or judge error (said on
 * stderr), whatever the verdict.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCluster } from './cluster.js';
import { renderHtml } from './html.js';
import { ReportError, fetchEvidence } from './judge-client.js';
import { snapshotOf } from './snapshot.js';
import { renderTerminal } from './terminal.js';

export const USAGE = `usage: canary-judge report ROLLOUT -n NAMESPACE [options]
  -n, --namespace NS     the Rollout's namespace (required)
  --judge URL            the judge's analyses endpoint (default: the URL in the Rollout's
                         latest AnalysisRun, e.g. http://canary-judge.canary-judge:8080/api/v1/analyses;
                         required when the analyses use the metric plugin, which speaks gRPC)
  --token-file FILE      bearer token for the judge (or $CANARY_JUDGE_TOKEN)
  --html FILE            also write a self-contained HTML page with charts
  --kubeconfig FILE      kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
`;

/** The text of Chart.js' UMD build, inlined into the HTML report. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // The package's exports map names only its modules; the UMD build sits beside its main file.
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

export async function report(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      judge: { type: 'string' },
      'token-file': { type: 'string' },
      html: { type: 'string' },
      kubeconfig: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    out(USAGE);
    return;
  }
  const name = positionals[0];
  if (name === undefined || positionals.length > 1 || values.namespace === undefined)
    throw new ReportError(`a Rollout name and its namespace are required\n${USAGE}`);
  const cluster = await readCluster(name, values.namespace, values.kubeconfig);
  const snap = snapshotOf(cluster.rollout, cluster.replicaSets, cluster.analysisRuns);
  const request = snap.judgeRequest;
  if (request === null)
    throw new ReportError(
      `no AnalysisRun of ${values.namespace}/${name}'s canary (${snap.canaryHash ?? 'none'}) calls the judge yet; nothing to report` +
        (snap.judgeRequestProblem === null
          ? ''
          : ` (a plugin metric gives no request: ${snap.judgeRequestProblem})`),
    );
  let url = values.judge;
  if (url === undefined) {
    if (request.via === 'plugin')
      throw new ReportError(
        `the canary's analyses call the judge through the metric plugin (metric ${request.metric}), over gRPC to ` +
          `${request.address ?? "the plugin registration's --address"}; the report asks the judge over HTTP: ` +
          'give its analyses endpoint with --judge, e.g. --judge http://canary-judge.canary-judge:8080/api/v1/analyses',
      );
    url = request.url;
  }
  const tokenFile = values['token-file'];
  const token =
    tokenFile !== undefined ? readFileSync(tokenFile, 'utf8').trim() : process.env['CANARY_JUDGE_TOKEN'];
  const result = await fetchEvidence({
    url,
    body: request.body,
    ...(token === undefined || token === '' ? {} : { token }),
    ...(snap.evidenceEnd === null ? {} : { end: snap.evidenceEnd }),
  });
  const text = renderTerminal(snap, result);
  out(text);
  if (values.html !== undefined) {
    writeFileSync(values.html, renderHtml(snap, result, text, chartJsSource()));
    out(`wrote ${values.html}\n`);
  }
}
