// End to end: catalogo v1.1 → v1.2 through the real Argo Rollouts controller, Istio-shaped
// traffic and the judge, on a local control plane (see README "End-to-end test"). Started by
// run.sh, which builds the tools and passes their directories in the environment.
//
// Env (set by run.sh): E2E_K8S_BIN, E2E_KWOK_BIN, E2E_ARGO_BIN, E2E_ETCD_BIN, E2E_HELM_BIN,
// E2E_ARGO_CRDS, E2E_ISTIO_CRDS, E2E_WORK (work and log folder), E2E_PID_FILE.
// Optional: E2E_SCENARIOS=wrong-sha,judge-late,quickstart,good,contract-break,clean,bad,bad-5x,bad-searches,
// shadow-bad,slow,low-traffic,judge-down (default: all of those for the provider, in that order; wrong-sha and
// judge-late run with E2E_PROVIDER=plugin only, quickstart with the web provider only);
// E2E_OVERLAY=<kustomization dir> instead of test/e2e/overlay;
// E2E_PLUGIN_BINARY=<built metric plugin>: the controller loads it from argo-rollouts-config
// (file:// location, its sha256) and the judge serves gRPC for it (run.sh sets it with
// E2E_PROVIDER=plugin, and E2E_OVERLAY to the overlay whose Rollout uses the plugin templates).
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { startCluster, log, type Cluster, type PluginRegistration } from './lib/cluster.js';
import { Observer, describeRollout, describeRuns } from './lib/observe.js';
import { ProcessGroup, waitFor, type Proc } from './lib/proc.js';
import { freePort } from '../support/net.js';
import { PROMETHEUS_BIN, prometheusArgs, scrapeConfig } from '../support/prometheus.js';
import { QUICKSTART, SCENARIOS, type Ctx, type ScenarioResult } from './scenarios.js';
import { startStandIn, type StandIn } from '../support/catalogo-standins.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../..');

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set (run test/e2e/run.sh)`);
  return v;
}

/** Prometheus on a loopback port, scraping the mesh simulator; restarted empty for each scenario. */
class Prometheus {
  proc: Proc | undefined;
  private runs = 0;
  constructor(
    private readonly procs: ProcessGroup,
    private readonly dir: string,
    readonly port: number,
    meshPort: number,
  ) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      scrapeConfig({ job: 'mesh', targets: [`127.0.0.1:${meshPort}`], interval: '2s', timeout: '2s' }),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * (Re)starts with an empty database: the v1.2 pods of every scenario share one pod-template
   * hash, so an earlier scenario's samples would otherwise be in the next one's analysis window.
   */
  async restart(): Promise<void> {
    if (this.proc !== undefined) await this.procs.stop(this.proc);
    const data = join(this.dir, 'data');
    rmSync(data, { recursive: true, force: true });
    this.runs++;
    log(
      `${this.runs === 1 ? 'starting' : 'restarting (empty)'} Prometheus on ${this.url}, scraping the mesh simulator every 2s`,
    );
    const proc = this.procs.start({
      name: 'prometheus',
      cmd: PROMETHEUS_BIN,
      args: prometheusArgs({
        configFile: join(this.dir, 'prometheus.yml'),
        dataDir: data,
        port: this.port,
        retention: '1d',
      }),
    });
    this.proc = proc;
    await waitFor(
      'Prometheus /-/ready',
      60_000,
      async () => ((await fetch(`${this.url}/-/ready`)).ok ? true : undefined),
      { alive: () => this.procs.assertAlive(proc) },
    );
  }
}

async function startMeshSim(procs: ProcessGroup, cluster: Cluster, port: number): Promise<Proc> {
  log(`starting the mesh simulator on 127.0.0.1:${port}`);
  const proc = procs.start({
    name: 'mesh-sim',
    cmd: process.execPath,
    args: ['--import', 'tsx', join(here, 'mesh-sim.ts')],
    cwd: root,
    env: {
      E2E_KUBE_SERVER: cluster.server,
      E2E_KUBE_TOKEN: cluster.token,
      E2E_KUBE_CA: cluster.caFile,
      // catalogo's, and the Quickstart's generic service's (the quickstart scenario).
      MESH_NAMESPACES: ['catalogo', QUICKSTART.namespace].join(','),
      MESH_PORT: String(port),
      MESH_SEED: process.env['E2E_SEED'] ?? '20261126',
    },
  });
  await waitFor(
    'the mesh simulator',
    60_000,
    async () => ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined),
    { alive: () => procs.assertAlive(proc) },
  );
  return proc;
}

/** The judge, as a restartable process (the judge-down scenario stops and starts it). */
class Judge {
  proc: Proc | undefined;
  constructor(
    private readonly procs: ProcessGroup,
    readonly port: number,
    readonly token: string,
    private readonly promUrl: string,
    private readonly contract: { readonly dir: string; readonly targets: string },
    /** gRPC port, for the metric plugin; undefined: gRPC off. */
    readonly grpcPort?: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    log(`starting the judge on ${this.url}`);
    const proc = this.procs.start({
      name: 'canary-judge',
      cmd: process.execPath,
      args: ['--import', 'tsx', join(root, 'src/main.ts')],
      cwd: root,
      env: {
        CANARY_JUDGE_HOST: '127.0.0.1',
        CANARY_JUDGE_PORT: String(this.port),
        CANARY_JUDGE_GRPC_PORT: this.grpcPort === undefined ? '0' : String(this.grpcPort),
        CANARY_JUDGE_PROMETHEUS_URL: this.promUrl,
        CANARY_JUDGE_AUTH_TOKEN: this.token,
        CANARY_JUDGE_LOG_LEVEL: 'info',
        CANARY_JUDGE_SHUTDOWN_TIMEOUT: '2s',
        CANARY_JUDGE_CONTRACTS_DIR: this.contract.dir,
        CANARY_JUDGE_CONTRACT_TARGETS: this.contract.targets,
      },
    });
    this.proc = proc;
    await waitFor(
      'the judge /readyz',
      60_000,
      async () => ((await fetch(`${this.url}/readyz`)).ok ? true : undefined),
      { alive: () => this.procs.assertAlive(proc), intervalMs: 300 },
    );
  }

  async stop(): Promise<void> {
    if (this.proc !== undefined) {
      log('stopping the judge');
      await this.procs.stop(this.proc, 3000);
      this.proc = undefined;
    }
  }
}

/**
 * The manifests as applied here: a committed overlay (test/e2e/overlay or overlay-shadow: shorter
 * durations and intervals) plus what can only be known at run time — the judge's and Prometheus'
 * loopback URLs and the token Secret — in a generated kustomization on top of it, written to `dir`.
 */
async function writeRuntimeOverlay(
  cluster: Cluster,
  base: string,
  dir: string,
  local: { readonly judgeUrl: string; readonly prometheusUrl: string },
  token: string,
  catalogo: { readonly canary: StandIn; readonly stable: StandIn },
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const rendered = await cluster.kubectl(['kustomize', base]);
  const patches: string[] = [];
  for (const doc of rendered.split(/^---$/m)) {
    const obj = parseYaml(doc) as Record<string, unknown> | null;
    if (obj === null || typeof obj !== 'object') continue;
    const kind = obj['kind'];
    if (kind === 'Rollout') {
      patches.push(...contractTargetPatches(obj, catalogo));
      continue;
    }
    if (kind !== 'ClusterAnalysisTemplate' && kind !== 'AnalysisTemplate') continue;
    const name = (obj['metadata'] as { name?: string } | undefined)?.name ?? '';
    const metrics = ((obj['spec'] as { metrics?: unknown[] } | undefined)?.metrics ?? []) as {
      provider?: { web?: { url?: string }; prometheus?: unknown };
    }[];
    const ops: string[] = [];
    metrics.forEach((m, i) => {
      const url = m.provider?.web?.url;
      if (url === undefined || !url.includes('canary-judge')) return;
      const path = new URL(url).pathname;
      ops.push(
        `      - op: replace\n        path: /spec/metrics/${i}/provider/web/url\n        value: ${local.judgeUrl}${path}`,
      );
    });
    // Argo's own Prometheus provider (the fallback template) asks the address its
    // prometheus-address arg defaults to, Istio's in-mesh Prometheus: here, the local one.
    if (metrics.some((m) => m.provider?.prometheus !== undefined)) {
      const args = ((obj['spec'] as { args?: { name?: string }[] } | undefined)?.args ?? []).map(
        (a) => a.name,
      );
      const i = args.indexOf('prometheus-address');
      if (i < 0)
        throw new Error(`${name}: a Prometheus metric without a prometheus-address arg to point here`);
      ops.push(
        `      - op: replace\n        path: /spec/args/${i}/value\n        value: ${local.prometheusUrl}`,
      );
    }
    if (ops.length > 0)
      patches.push(`  - target: {kind: ${String(kind)}, name: ${name}}\n    patch: |-\n${ops.join('\n')}`);
  }
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    [
      '# Generated by test/e2e/run.ts: the judge URL and Prometheus on loopback, the judge token Secret.',
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ${relative(dir, base)}`,
      'secretGenerator:',
      '  - name: canary-judge-token',
      '    namespace: catalogo',
      `    literals: ["token=${token}"]`,
      '    options: {disableNameSuffixHash: true}',
      'patches:',
      ...patches,
      '',
    ].join('\n'),
  );
  if (patches.length === 0)
    throw new Error('no analysis template calls the judge: nothing to point at the local judge');
  return dir;
}

/**
 * The address override of the contract gate: its canary-url and stable-url args name the cluster
 * Services, which do not exist on loopback; here they point at the stand-in servers instead.
 */
function contractTargetPatches(
  rollout: Record<string, unknown>,
  catalogo: { readonly canary: StandIn; readonly stable: StandIn },
): string[] {
  const name = (rollout['metadata'] as { name?: string } | undefined)?.name ?? '';
  const steps = ((rollout['spec'] as { strategy?: { canary?: { steps?: unknown[] } } } | undefined)?.strategy
    ?.canary?.steps ?? []) as { analysis?: { args?: { name: string }[] } }[];
  const ops: string[] = [];
  steps.forEach((step, i) => {
    (step.analysis?.args ?? []).forEach((a, j) => {
      const url =
        a.name === 'canary-url' ? catalogo.canary.url : a.name === 'stable-url' ? catalogo.stable.url : '';
      if (url !== '')
        ops.push(
          `      - op: replace\n        path: /spec/strategy/canary/steps/${i}/analysis/args/${j}/value\n        value: ${url}`,
        );
    });
  });
  if (ops.length === 0) throw new Error('the Rollout has no contract gate (no canary-url / stable-url args)');
  return [`  - target: {kind: Rollout, name: ${name}}\n    patch: |-\n${ops.join('\n')}`];
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const work = env('E2E_WORK');
  const logDir = join(work, 'logs');
  mkdirSync(logDir, { recursive: true });
  const procs = new ProcessGroup(logDir, env('E2E_PID_FILE'));
  let stopping = false;
  const cleanup = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping ${procs.all().length} processes`);
    await procs.stopAll();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      void cleanup(sig).then(() => process.exit(130));
    });
  }

  // The selection is checked before anything starts: a misspelt or misplaced scenario costs nothing.
  const wanted = (process.env['E2E_SCENARIOS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = wanted.filter((w) => !SCENARIOS.some((sc) => sc.name === w));
  if (unknown.length > 0) {
    log(`unknown scenario(s) in E2E_SCENARIOS: ${unknown.join(', ')}`);
    return 1;
  }
  const provider = process.env['E2E_PLUGIN_BINARY'] === undefined ? 'web' : 'plugin';
  const misplaced = SCENARIOS.filter(
    (sc) => wanted.includes(sc.name) && sc.provider !== undefined && sc.provider !== provider,
  );
  if (misplaced.length > 0) {
    log(
      misplaced.map((sc) => `scenario ${sc.name} needs E2E_PROVIDER=${String(sc.provider)}`).join('; ') +
        `; this run is ${provider}`,
    );
    return 1;
  }
  const results: ScenarioResult[] = [];
  let catalogo: { canary: StandIn; stable: StandIn } | undefined;
  try {
    const judgeToken = `e2e-judge-${randomBytes(16).toString('hex')}`;
    const pluginBinary = process.env['E2E_PLUGIN_BINARY'];
    const judgeGrpcPort = pluginBinary === undefined ? undefined : await freePort();
    const plugin: PluginRegistration | undefined =
      pluginBinary === undefined
        ? undefined
        : {
            name: 'canary-judge/canary-judge',
            location: `file://${pluginBinary}`,
            sha256: createHash('sha256').update(readFileSync(pluginBinary)).digest('hex'),
            args: [`--address=127.0.0.1:${judgeGrpcPort}`, '--token-env=CANARY_JUDGE_PLUGIN_TOKEN'],
            env: { CANARY_JUDGE_PLUGIN_TOKEN: judgeToken },
          };
    const cluster = await startCluster(
      procs,
      {
        k8sBin: env('E2E_K8S_BIN'),
        kwokBin: env('E2E_KWOK_BIN'),
        kwokStages: env('E2E_KWOK_STAGES'),
        argoBin: env('E2E_ARGO_BIN'),
        etcdBin: env('E2E_ETCD_BIN'),
      },
      work,
      { argo: env('E2E_ARGO_CRDS'), istio: env('E2E_ISTIO_CRDS') },
      plugin,
    );
    const meshPort = await freePort();
    const meshSim = await startMeshSim(procs, cluster, meshPort);
    const prom = new Prometheus(procs, join(work, 'prometheus'), await freePort(), meshPort);
    await prom.restart();
    // The contract gate's stand-ins, in this process (the canary's behaviour is swapped per
    // scenario), and the judge's contracts folder as its ConfigMap would mount it.
    catalogo = { canary: await startStandIn('v1.2-compatible'), stable: await startStandIn('v1.1') };
    log(
      `catalogo stand-ins: canary ${catalogo.canary.url} (v1.2-compatible), stable ${catalogo.stable.url} (v1.1)`,
    );
    const contracts = join(work, 'contracts');
    mkdirSync(contracts, { recursive: true });
    copyFileSync(join(root, 'contracts/catalogo/openapi.yaml'), join(contracts, 'catalogo.yaml'));
    const judge = new Judge(
      procs,
      await freePort(),
      judgeToken,
      prom.url,
      {
        dir: contracts,
        targets: [catalogo.canary, catalogo.stable].map((s) => `127.0.0.1:${s.port}`).join(','),
      },
      judgeGrpcPort,
    );
    await judge.start();
    const local = { judgeUrl: judge.url, prometheusUrl: prom.url };
    // E2E_OVERLAY: another kustomization to try instead (e.g. a template change before it is made).
    const overlay = await writeRuntimeOverlay(
      cluster,
      resolve(process.env['E2E_OVERLAY'] ?? join(here, 'overlay')),
      join(work, 'overlay'),
      local,
      judgeToken,
      catalogo,
    );
    // The shadow scenario's manifests: rollouts/catalogo-shadow at the same pace.
    const shadowOverlay = await writeRuntimeOverlay(
      cluster,
      join(here, 'overlay-shadow'),
      join(work, 'overlay-shadow'),
      local,
      judgeToken,
      catalogo,
    );
    log(`control plane up in ${((Date.now() - t0) / 1000).toFixed(0)}s; manifests overlay ${overlay}`);

    const obs = new Observer(cluster.kube, 'catalogo', 'catalogo');
    const meshUrl = `http://127.0.0.1:${meshPort}`;
    const ctx: Ctx = {
      cluster,
      procs,
      obs,
      overlay,
      shadowOverlay,
      meshUrl,
      prometheus: prom,
      judge,
      judgeToken,
      meshSim,
      argoPlugin: join(env('E2E_ARGO_BIN'), 'kubectl-argo-rollouts'),
      provider: plugin === undefined ? 'web' : 'plugin',
      plugin:
        plugin === undefined || pluginBinary === undefined
          ? undefined
          : { registration: plugin, binary: pluginBinary },
      catalogo,
      tools: { k8sBin: env('E2E_K8S_BIN'), argoBin: env('E2E_ARGO_BIN'), helmBin: env('E2E_HELM_BIN') },
      work,
    };

    for (const sc of SCENARIOS) {
      if (wanted.length > 0 && !wanted.includes(sc.name)) continue;
      if (sc.provider !== undefined && sc.provider !== ctx.provider) {
        log(`=== scenario ${sc.name}: skipped (runs with E2E_PROVIDER=${sc.provider} only)`);
        continue;
      }
      const s0 = Date.now();
      log(`=== scenario ${sc.name}: ${sc.title}`);
      try {
        const details = await sc.run(ctx);
        results.push({ name: sc.name, ok: true, seconds: (Date.now() - s0) / 1000, details });
        log(
          `=== scenario ${sc.name}: PASSED in ${((Date.now() - s0) / 1000).toFixed(0)}s — ${details.join('; ')}`,
        );
      } catch (err) {
        if (stopping) break; // interrupted: the processes are being stopped, nothing to diagnose
        const msg = err instanceof Error ? err.message : String(err);
        results.push({
          name: sc.name,
          ok: false,
          seconds: (Date.now() - s0) / 1000,
          details: [firstLine(msg)],
        });
        log(`=== scenario ${sc.name}: FAILED after ${((Date.now() - s0) / 1000).toFixed(0)}s: ${msg}`);
        await printDiagnostics(ctx);
      }
    }
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    log(`e2e setup FAILED: ${msg}`);
    console.log(`\n--- process log tails (full logs in ${logDir}) ---\n${procs.logTails(30)}`);
    results.push({ name: 'setup', ok: false, seconds: (Date.now() - t0) / 1000, details: [firstLine(msg)] });
  } finally {
    await cleanup('done');
    await Promise.all([catalogo?.canary.close(), catalogo?.stable.close()]);
  }
  const total = (Date.now() - t0) / 1000;
  writeFileSync(join(work, 'results.json'), JSON.stringify({ totalSeconds: total, results }, null, 2));
  console.log('\n=== end-to-end results ===');
  for (const r of results)
    console.log(
      `${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(12)} ${r.seconds.toFixed(0).padStart(5)}s  ${r.details.join('; ')}`,
    );
  console.log(`total ${total.toFixed(0)}s; logs in ${logDir}`);
  const ran = results.filter((r) => r.name !== 'setup');
  return results.every((r) => r.ok) && ran.length > 0 ? 0 : 1;
}

function firstLine(msg: string): string {
  return msg.split('\n')[0] ?? msg;
}

async function printDiagnostics(ctx: Ctx): Promise<void> {
  try {
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((res) =>
      execFile(
        ctx.argoPlugin,
        ['get', 'rollout', 'catalogo', '-n', 'catalogo', `--kubeconfig=${ctx.cluster.kubeconfig}`],
        (e, so, se) => res(`${so}${se}${e ? `\n(${e.message})` : ''}`),
      ),
    );
    console.log(`\n--- kubectl argo rollouts get rollout catalogo ---\n${out}`);
    console.log(`--- rollout ---\n${describeRollout(await ctx.obs.rolloutView())}`);
    console.log(`--- AnalysisRuns and measurements ---\n${describeRuns(await ctx.obs.runs())}`);
    console.log(`--- mesh simulator ---\n${await (await fetch(`${ctx.meshUrl}/stats`)).text()}`);
  } catch (err) {
    console.log(`(diagnostics incomplete: ${err instanceof Error ? err.message : String(err)})`);
  }
  console.log(`\n--- process log tails ---\n${ctx.procs.logTails(25)}`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
