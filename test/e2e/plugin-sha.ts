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
import type { PluginRegistration } from './lib/cluster.js';
import { log } from './lib/cluster.js';
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
