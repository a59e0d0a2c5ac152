// What the real Argo Rollouts controller does with the metric plugin's sha256 at start-up: the
// plugin binary is served over http on loopback and registered in argo-rollouts-config, and a
// controller is started against each registration. Argo's downloader checks the sha256 of an
// http(s) download and, on a mismatch, the controller logs "Failed to download plugins: …" and
// exits before it starts any controller; a `file://` location is copied without a check. The
// scenario stops the harness's controller first and starts it again, with the harness's own
// registration, before it returns, so the scenarios after it run as usual.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { basename } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../support/net.js';
import type { PluginRegistration } from './lib/cluster.js';
import { log } from './lib/cluster.js';
import { arr, at } from './lib/kube.js';
import { sleep, waitFor, type Proc } from './lib/proc.js';
import type { Ctx, Scenario } from './scenarios.js';

/** How long a controller with a wrong sha256 may take to exit (it exits within seconds). */
const EXIT_WITHIN_MS = 60_000;
/** How long a controller that started must stay up and healthy to count as started. */
const STAYS_UP_MS = 5_000;

function check(cond: boolean, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** The plugin binary over http on 127.0.0.1, counting the downloads. */
async function serveBinary(
  file: string,
): Promise<{ readonly url: string; readonly downloads: () => number; close(): Promise<void> }> {
  const bytes = readFileSync(file);
  const path = `/${basename(file)}`;
  let downloads = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === path) {
      downloads++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      res.end(bytes);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the plugin server has no port');
  return {
    url: `http://127.0.0.1:${addr.port}${path}`,
    downloads: () => downloads,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function logOf(proc: Proc): string {
  return readFileSync(proc.log, 'utf8');
}

async function analysisRunCount(ctx: Ctx): Promise<number> {
  return (await ctx.cluster.kube.list('/apis/argoproj.io/v1alpha1/analysisruns')).length;
}

/** Starts a controller against `registration`, checks it comes up and stays up, then stops it. */
async function startsAndStays(
  ctx: Ctx,
  name: string,
  registration: PluginRegistration,
): Promise<{ log: string; seconds: number }> {
  await ctx.cluster.registerPlugin(registration);
  const t0 = Date.now();
  const c = await ctx.cluster.launchController(name, registration.env);
  try {
    await c.healthy();
    const seconds = (Date.now() - t0) / 1000;
    await sleep(STAYS_UP_MS);
    ctx.procs.assertAlive(c.proc);
    const res = await fetch(c.healthzUrl, { signal: AbortSignal.timeout(3000) });
    check(res.ok, `${name}: /healthz answered ${res.status} after ${STAYS_UP_MS / 1000}s`);
    const text = logOf(c.proc);
    check(text.includes('Started controller'), `${name}: no "Started controller" in its log`);
    return { log: text, seconds };
  } finally {
    await ctx.procs.stop(c.proc);
  }
}

export const wrongSha: Scenario = {
  name: 'wrong-sha',
  title:
    'plugin sha256: over http a wrong sha256 makes the real controller exit at start-up, the right one starts it; over file:// it is not checked',
  provider: 'plugin',
  async run(ctx) {
    const plugin = ctx.plugin;
    if (plugin === undefined) throw new Error('the wrong-sha scenario needs E2E_PROVIDER=plugin');
    const { registration, binary } = plugin;
    const realSha = createHash('sha256').update(readFileSync(binary)).digest('hex');
    check(realSha === registration.sha256, 'the harness registered another sha256 than its binary has');
    // Well formed (64 hex digits, so Argo compares it as a sha256), but not the binary's.
    const wrong = createHash('sha256').update('not the canary-judge metric plugin').digest('hex');
    const details: string[] = [];
    const server = await serveBinary(binary);
    const runsBefore = await analysisRunCount(ctx);
    await ctx.procs.stop(ctx.cluster.argoController);
    try {
      // (a) http, wrong sha256: the controller must exit, having started nothing.
      await ctx.cluster.registerPlugin({ ...registration, location: server.url, sha256: wrong });
      const t0 = Date.now();
      const bad = await ctx.cluster.launchController('rollouts-controller-wrong-sha', registration.env);
      await waitFor(
        `the controller with a wrong sha256 to exit (at most ${EXIT_WITHIN_MS / 1000}s)`,
        EXIT_WITHIN_MS,
        () => Promise.resolve(bad.proc.exited ? true : undefined),
        { intervalMs: 200 },
      ).catch(async (err: unknown) => {
        await ctx.procs.stop(bad.proc);
        throw err;
      });
      const exitSeconds = (Date.now() - t0) / 1000;
      await ctx.procs.stop(bad.proc); // already exited: only forgets it
      const badLog = logOf(bad.proc);
      check(
        bad.proc.exitCode !== null && bad.proc.exitCode !== 0,
        `the controller exited with code ${String(bad.proc.exitCode)}, expected non-zero`,
      );
      const fatal = badLog
        .split('\n')
        .find((l) => l.includes('level=fatal') && l.includes('Failed to download plugins:'));
      const expected = `Failed to download plugins: sha256 hash of downloaded plugin (${server.url}) does not match expected hash`;
      check(
        fatal?.includes(expected) === true,
        `the controller's last words should be "${expected}"; its log ends:\n${badLog.split('\n').slice(-10).join('\n')}`,
      );
      const compared = badLog
        .split('\n')
        .find((l) => l.includes(`expected sha256: ${wrong}, actual sha256: ${realSha}`));
      check(compared !== undefined, 'the controller did not log the expected and actual sha256');
      check(
        server.downloads() === 1,
        `the controller downloaded the plugin ${server.downloads()} times, not once`,
      );
      check(
        !badLog.includes('Starting Controllers') && !badLog.includes('Starting Healthz Server'),
        'the controller with a wrong sha256 started its controllers or its healthz server before exiting',
      );
      const runsAfter = await analysisRunCount(ctx);
      check(
        runsAfter === runsBefore,
        `AnalysisRuns went from ${runsBefore} to ${runsAfter} while it was down`,
      );
      log(`  wrong sha256 over http: exit ${String(bad.proc.exitCode)} after ${exitSeconds.toFixed(1)}s`);
      log(`  ${fatal ?? ''}`);
      details.push(
        `http + wrong sha256: exit ${String(bad.proc.exitCode)} in ${exitSeconds.toFixed(1)}s, "${expected.replace(server.url, 'http://127.0.0.1:<port>/…')}", no controller started, AnalysisRuns unchanged (${runsAfter})`,
      );

      // (b) http, the right sha256: downloaded, checked, the controller runs.
      const good = await startsAndStays(ctx, 'rollouts-controller-http', {
        ...registration,
        location: server.url,
      });
      check(
        good.log.includes(`Downloading plugin ${registration.name} from: ${server.url}`) &&
          good.log.includes('Download complete'),
        'the controller with the right sha256 did not log the download',
      );
      check(server.downloads() === 2, `expected a second download, the server saw ${server.downloads()}`);
      details.push(
        `http + right sha256: healthy in ${good.seconds.toFixed(1)}s, up ${STAYS_UP_MS / 1000}s later`,
      );

      // (c) file://, wrong sha256: copied without a check, the controller runs.
      const copied = await startsAndStays(ctx, 'rollouts-controller-file-wrong-sha', {
        ...registration,
        sha256: wrong,
      });
      check(
        copied.log.includes(`Copied plugin from ${binary}`),
        'the controller with a file:// location did not log the copy',
      );
      check(
        !copied.log.includes('does not match expected hash'),
        'the file:// registration had its sha256 checked',
      );
      details.push(`file:// + wrong sha256: accepted, healthy in ${copied.seconds.toFixed(1)}s`);
    } finally {
      await server.close();
      // The harness's registration and controller again, for the scenarios that follow.
      await ctx.cluster.registerPlugin(registration);
      const c = await ctx.cluster.launchController('rollouts-controller', registration.env);
      ctx.cluster.argoController = c.proc;
      await c.healthy();
    }
    return details;
  },
};

/** Errors the scenario waits for before it starts the judge (Argo retries an Error every 10 s). */
const ERRORS_BEFORE_JUDGE = 2;

interface MeasurementView {
  readonly phase: string;
  readonly value: string;
  readonly message: string;
  readonly startedAt: string;
}

/** The measurements of an AnalysisRun's only metric, and the run's phase. */
async function runState(
  ctx: Ctx,
  path: string,
): Promise<{ phase: string; message: string; measurements: MeasurementView[] }> {
  const run = await ctx.cluster.kube.get(path);
  const measurements = arr(at(run, 'status', 'metricResults', 0, 'measurements')).map((m) => ({
    phase: String(at(m, 'phase') ?? ''),
    value: String(at(m, 'value') ?? ''),
    message: String(at(m, 'message') ?? ''),
    startedAt: String(at(m, 'startedAt') ?? ''),
  }));
  return {
    phase: String(at(run, 'status', 'phase') ?? ''),
    message: String(at(run, 'status', 'message') ?? ''),
    measurements,
  };
}

/**
 * The judge is not up yet when Argo's controller starts (a fresh cluster, or both restarting):
 * (a) were the plugin served over http by the judge, the controller could not download it and
 * would exit (log.Fatalf) — the reason the shipped install copies it with an init container; (b)
 * with that install's registration (file://, the right sha256) the controller starts and stays
 * healthy with the judge's gRPC port closed, the plugin-backed measurements are Errors, and once
 * the judge is up the same AnalysisRun ends Successful. The run is a standalone AnalysisRun from
 * the shipped guard template (as the e2e overlay scales it: interval 10s, consecutiveErrorLimit 3),
 * so no Rollout has to be walked. The controller started here stays as the harness's controller
 * (the same registration).
 */
export const judgeLate: Scenario = {
  name: 'judge-late',
  title:
    'judge not up yet: the plugin over http would stop the controller; from file:// it starts, measurements are Errors, then Successful once the judge is up',
  provider: 'plugin',
  async run(ctx) {
    const plugin = ctx.plugin;
    if (plugin === undefined) throw new Error('the judge-late scenario needs E2E_PROVIDER=plugin');
    const { registration } = plugin;
    const address = registration.args.find((a) => a.startsWith('--address='))?.slice('--address='.length);
    check(address !== undefined, 'the harness registration has no --address');
    const details: string[] = [];
    await ctx.procs.stop(ctx.cluster.argoController);
    await ctx.judge.stop();
    let controller: Proc | undefined;
    let restored = false;
    const ns = 'judge-late';
    const runPath = `/apis/argoproj.io/v1alpha1/namespaces/${ns}/analysisruns/judge-late`;
    try {
      // (a) The location an http delivery by the judge would have, with nothing listening there.
      const closedPort = await freePort();
      const closed = `http://127.0.0.1:${closedPort}/${basename(plugin.binary)}`;
      await ctx.cluster.registerPlugin({ ...registration, location: closed });
      const t0 = Date.now();
      const http = await ctx.cluster.launchController(
        'rollouts-controller-judge-late-http',
        registration.env,
      );
      await waitFor(
        `the controller whose plugin URL does not answer to exit (at most ${EXIT_WITHIN_MS / 1000}s)`,
        EXIT_WITHIN_MS,
        () => Promise.resolve(http.proc.exited ? true : undefined),
        { intervalMs: 200 },
      ).catch(async (err: unknown) => {
        await ctx.procs.stop(http.proc);
        throw err;
      });
      const exitSeconds = (Date.now() - t0) / 1000;
      await ctx.procs.stop(http.proc); // already exited: only forgets it
      const httpLog = logOf(http.proc);
      const fatal = httpLog
        .split('\n')
        .find((l) => l.includes('level=fatal') && l.includes('Failed to download plugins:'));
      check(
        http.proc.exitCode !== null && http.proc.exitCode !== 0 && fatal !== undefined,
        `with the plugin's URL not answering the controller should exit with "Failed to download plugins"; exit ${String(http.proc.exitCode)}, log ends:\n${httpLog.split('\n').slice(-10).join('\n')}`,
      );
      check(
        !httpLog.includes('Starting Healthz Server'),
        'the controller started its healthz server before the plugin download failed',
      );
      log(
        `  plugin over http, nothing listening: exit ${String(http.proc.exitCode)} after ${exitSeconds.toFixed(1)}s`,
      );
      log(`  ${fatal}`);
      check(
        fatal.includes(`failed to download plugin from ${closed}`) && fatal.includes('connection refused'),
        `the controller should have failed on the unanswered download: ${fatal}`,
      );
      const said = (/msg="((?:[^"\\]|\\.)*)"/.exec(fatal)?.[1] ?? fatal)
        .replace(/\\"/g, '"')
        .replaceAll(closed, 'http://127.0.0.1:<port>/<binary>')
        .replaceAll(`127.0.0.1:${closedPort}`, '127.0.0.1:<port>');
      details.push(
        `http, judge not up: exit ${String(http.proc.exitCode)} in ${exitSeconds.toFixed(1)}s, "${said}"`,
      );

      // (b) The shipped install's registration: file://, the right sha256; the judge still down.
      await ctx.cluster.registerPlugin(registration);
      const t1 = Date.now();
      const c = await ctx.cluster.launchController('rollouts-controller-judge-late', registration.env);
      controller = c.proc;
      await c.healthy();
      const healthySeconds = (Date.now() - t1) / 1000;
      check(
        logOf(c.proc).includes(`Copied plugin from ${plugin.binary}`),
        'the controller did not log the file:// copy of the plugin',
      );
      const rendered = parseAllDocuments(await ctx.cluster.kubectl(['kustomize', ctx.overlay])).map(
        (d) => d.toJS() as unknown,
      );
      const guard = rendered.find(
        (o) =>
          at(o, 'kind') === 'ClusterAnalysisTemplate' &&
          at(o, 'metadata', 'name') === 'canary-judge-plugin-guard',
      );
      check(guard !== undefined, 'no ClusterAnalysisTemplate canary-judge-plugin-guard in the overlay');
      const metric = at(guard, 'spec', 'metrics', 0) as Record<string, unknown>;
      const limit = Number(at(metric, 'consecutiveErrorLimit'));
      check(
        limit > ERRORS_BEFORE_JUDGE,
        `consecutiveErrorLimit ${limit} leaves no room for ${ERRORS_BEFORE_JUDGE} Errors`,
      );
      const config = at(metric, 'provider', 'plugin', registration.name) as Record<string, unknown>;
      // Hashes no scenario's pods have: the judge finds no canary sample and says Inconclusive,
      // which the guard's successCondition counts as a success.
      const stable = 'judgelate0';
      const canary = 'judgelate1';
      await ctx.cluster.kubectl(['create', 'namespace', ns]).catch(() => undefined);
      await ctx.cluster.kube.delete(runPath);
      await ctx.cluster.kube.request('POST', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/analysisruns`, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AnalysisRun',
        metadata: { name: 'judge-late', namespace: ns, labels: { 'rollouts-pod-template-hash': canary } },
        spec: {
          args: arr(at(guard, 'spec', 'args')).map((a) =>
            at(a, 'name') === 'stable-hash' ? { name: 'stable-hash', value: stable } : a,
          ),
          metrics: [
            {
              ...metric,
              count: 1,
              provider: { plugin: { [registration.name]: { ...config, rollout: { name: 'judge-late' } } } },
            },
          ],
        },
      });
      const runT0 = Date.now();
      const errors = await waitFor(
        `${ERRORS_BEFORE_JUDGE} Error measurements with the judge down`,
        60_000,
        async () => {
          const s = await runState(ctx, runPath);
          const errs = s.measurements.filter((m) => m.phase === 'Error');
          check(
            s.measurements.every((m) => m.phase === 'Error' || m.phase === 'Running' || m.phase === ''),
            `a measurement other than an Error while the judge is down: ${JSON.stringify(s.measurements)}`,
          );
          return errs.length >= ERRORS_BEFORE_JUDGE ? { state: s, errs } : undefined;
        },
        { intervalMs: 500, alive: () => ctx.procs.assertAlive(c.proc) },
      );
      const unreachable = `judge at ${address} unreachable`;
      check(
        errors.errs.every((m) => m.message.includes(unreachable)),
        `the Error measurements should say "${unreachable}": ${errors.errs.map((m) => m.message).join(' | ')}`,
      );
      check(errors.state.phase === 'Running', `the AnalysisRun is ${errors.state.phase} with the judge down`);
      const res = await fetch(c.healthzUrl, { signal: AbortSignal.timeout(3000) });
      check(res.ok, `the controller's /healthz answered ${res.status} with the judge down`);
      check(
        !logOf(c.proc).includes('level=fatal'),
        'the controller logged a fatal error with the judge down',
      );
      const downSeconds = (Date.now() - runT0) / 1000;
      log(
        `  ${errors.errs.length} Error measurements in ${downSeconds.toFixed(0)}s: ${errors.errs[0]?.message ?? ''}`,
      );

      const t2 = Date.now();
      await ctx.judge.start();
      const judgeUp = Date.now();
      const done = await waitFor(
        'the AnalysisRun to end once the judge is up',
        60_000,
        async () => {
          const s = await runState(ctx, runPath);
          return s.phase !== '' && s.phase !== 'Pending' && s.phase !== 'Running' ? s : undefined;
        },
        { intervalMs: 500, alive: () => ctx.procs.assertAlive(c.proc) },
      );
      const afterJudge = (Date.now() - judgeUp) / 1000;
      check(
        done.phase === 'Successful',
        `the AnalysisRun ended ${done.phase} once the judge was up: ${done.message}`,
      );
      const last = done.measurements.at(-1);
      check(last?.phase === 'Successful', `its last measurement is ${last?.phase ?? 'missing'}`);
      const sequence = done.measurements.map((m) => m.phase[0] ?? '?').join('');
      check(
        done.measurements.every((m) => m.phase === 'Successful' || Date.parse(m.startedAt) < judgeUp),
        `a measurement started after the judge was up is not Successful: ${sequence}`,
      );
      ctx.procs.assertAlive(c.proc);
      details.push(
        `file://, judge's gRPC port closed: controller healthy in ${healthySeconds.toFixed(1)}s and up throughout; ${errors.errs.length} Error measurements ("${unreachable}: …") in ${downSeconds.toFixed(0)}s`,
        `judge started in ${((judgeUp - t2) / 1000).toFixed(1)}s; AnalysisRun Successful ${afterJudge.toFixed(1)}s later (measurements ${sequence}; the judge: ${last.value.slice(0, 160)})`,
      );
      await ctx.cluster.kube.delete(runPath);
      // The controller has the harness's registration: it stays as the harness's controller.
      ctx.cluster.argoController = c.proc;
      restored = true;
    } finally {
      if (ctx.judge.proc === undefined) await ctx.judge.start();
      if (!restored) {
        // Failed midway: the harness's registration and a controller started afresh.
        if (controller !== undefined) await ctx.procs.stop(controller);
        await ctx.cluster.registerPlugin(registration);
        const again = await ctx.cluster.launchController('rollouts-controller', registration.env);
        ctx.cluster.argoController = again.proc;
        await again.healthy();
      }
    }
    return details;
  },
};
