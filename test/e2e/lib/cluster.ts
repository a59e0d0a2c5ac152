// The local control plane of the end-to-end test, started on 127.0.0.1 in dependency order, each
// step waiting for its readiness check before the next: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, KWOK with one fake node, the Argo Rollouts and Istio CRDs, the Argo Rollouts
// controller out of cluster. Prometheus, the mesh simulator and the judge are started by run.ts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kube, at, arr } from './kube.js';
import { ProcessGroup, waitFor, type Proc } from './proc.js';
import { freePort } from '../../support/net.js';

const run = promisify(execFile);

export interface ToolDirs {
  readonly k8sBin: string;
  readonly kwokBin: string;
  readonly kwokStages: string;
  readonly argoBin: string;
  readonly etcdBin: string;
}

export interface Cluster {
  readonly kubeconfig: string;
  readonly server: string;
  readonly token: string;
  readonly caFile: string;
  readonly kube: Kube;
  readonly kubectl: (
    args: readonly string[],
    opts?: { input?: string; timeoutMs?: number },
  ) => Promise<string>;
  /** The running Argo Rollouts controller (replaced when a scenario restarts it). */
  argoController: Proc;
  /** Writes argo-rollouts-config: this metric plugin, or no plugin at all. */
  readonly registerPlugin: (plugin: PluginRegistration | undefined) => Promise<void>;
  /**
   * Starts a controller (which reads argo-rollouts-config once, now) without waiting for it;
   * `healthy()` resolves once its /healthz answers and throws if it exits first.
   */
  readonly launchController: (
    name: string,
    env?: Readonly<Record<string, string>>,
  ) => Promise<{
    readonly proc: Proc;
    readonly healthzUrl: string;
    healthy(timeoutMs?: number): Promise<void>;
  }>;
}

export function log(msg: string): void {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  await run('openssl', [...args], { cwd });
}

/** A CA, the API server's serving certificate for 127.0.0.1, and the service-account key pair. */
async function makePki(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=canary-judge-e2e-ca',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' +
      'extendedKeyUsage=serverAuth\n',
  );
  await openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'apiserver.key',
      '-out',
      'apiserver.csr',
      '-subj',
      '/CN=kube-apiserver',
    ],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'apiserver.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'apiserver.crt',
      '-days',
      '2',
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  await openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  await openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

async function httpOk(url: string, expect?: RegExp): Promise<true | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  const body = await res.text();
  return res.ok && (expect === undefined || expect.test(body)) ? true : undefined;
}

/** Components' /healthz on their self-signed HTTPS port: any TLS answer "ok" will do. */
async function insecureHealthz(port: number): Promise<true | undefined> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 3000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'ok' ? true : undefined));
      },
    );
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * The metric plugin as the controller loads it: an entry of argo-rollouts-config (created before
 * the controller starts, which is when plugins are loaded) and the environment the plugin
 * process inherits from the controller (where its --token-env points).
 */
export interface PluginRegistration {
  readonly name: string;
  readonly location: string;
  readonly sha256: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export async function startCluster(
  procs: ProcessGroup,
  tools: ToolDirs,
  work: string,
  crds: { argo: string; istio: string },
  plugin?: PluginRegistration,
): Promise<Cluster> {
  const pki = join(work, 'pki');
  await makePki(pki);
  const token = `e2e-${randomBytes(16).toString('hex')}`;
  writeFileSync(join(pki, 'tokens.csv'), `${token},e2e-admin,e2e-admin-uid,"system:masters"\n`);
  const caFile = join(pki, 'ca.crt');
  const ca = readFileSync(caFile, 'utf8');

  // etcd
  const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
  log(`starting etcd on 127.0.0.1:${etcdClient}`);
  const etcd = procs.start({
    name: 'etcd',
    cmd: join(tools.etcdBin, 'etcd'),
    args: [
      '--name=e2e',
      `--data-dir=${join(work, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=e2e=http://127.0.0.1:${etcdPeer}`,
      '--listen-metrics-urls=',
      '--quota-backend-bytes=2147483648',
      '--log-level=warn',
    ],
  });
  await waitFor(
    'etcd /health',
    30_000,
    () => httpOk(`http://127.0.0.1:${etcdClient}/health`, /"health":\s*"true"/),
    { alive: () => procs.assertAlive(etcd) },
  );

  // kube-apiserver
  const apiPort = await freePort();
  const server = `https://127.0.0.1:${apiPort}`;
  log(`starting kube-apiserver on ${server}`);
  const apiserver = procs.start({
    name: 'kube-apiserver',
    cmd: join(tools.k8sBin, 'kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(work, 'apiserver-certs')}`,
      `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
      `--client-ca-file=${caFile}`,
      `--token-auth-file=${join(pki, 'tokens.csv')}`,
      '--authorization-mode=AlwaysAllow',
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ],
  });
  const kube = new Kube({ server, token, ca });
  await waitFor(
    'kube-apiserver /readyz',
    120_000,
    async () => ((await kube.request('GET', '/readyz'))['raw'] === 'ok' ? true : undefined),
    {
      alive: () => procs.assertAlive(apiserver),
      intervalMs: 1000,
    },
  );
  const version = await kube.get('/version');
  log(
    `kube-apiserver ready: ${String(version['gitVersion'])} (major ${String(version['major'])}, minor ${String(version['minor'])})`,
  );
  if (version['major'] === '' || version['minor'] === '')
    throw new Error('/version has no major/minor: the version ldflags did not apply');

  const kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: e2e',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority-data: ${Buffer.from(ca).toString('base64')}`,
      'users:',
      '- name: e2e-admin',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: e2e',
      '  context: {cluster: e2e, user: e2e-admin}',
      'current-context: e2e',
      '',
    ].join('\n'),
  );
  const kubectlBin = join(tools.k8sBin, 'kubectl');
  const kubectl = async (
    args: readonly string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<string> => {
    const child = execFile(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], {
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 64 << 20,
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${String(code)}): ${err || out}`);
    return out;
  };

  // kube-controller-manager
  const cmPort = await freePort();
  log('starting kube-controller-manager');
  const cm = procs.start({
    name: 'kube-controller-manager',
    cmd: join(tools.k8sBin, 'kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${cmPort}`,
      `--cert-dir=${join(work, 'cm-certs')}`,
      '--leader-elect=false',
      // deployment-controller: the judge's own Deployment, installed from the chart by the
      // quickstart scenario, must become available (`helm install --wait`).
      '--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${caFile}`,
      '--use-service-account-credentials=false',
      '--concurrent-replicaset-syncs=5',
      '--v=1',
    ],
  });
  await waitFor('kube-controller-manager /healthz', 60_000, () => insecureHealthz(cmPort), {
    alive: () => procs.assertAlive(cm),
    intervalMs: 1000,
  });

  // kube-scheduler
  const schedPort = await freePort();
  log('starting kube-scheduler');
  const sched = procs.start({
    name: 'kube-scheduler',
    cmd: join(tools.k8sBin, 'kube-scheduler'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      `--cert-dir=${join(work, 'sched-certs')}`,
      '--leader-elect=false',
      '--v=1',
    ],
  });
  await waitFor('kube-scheduler /healthz', 60_000, () => insecureHealthz(schedPort), {
    alive: () => procs.assertAlive(sched),
    intervalMs: 1000,
  });

  // KWOK and its fake node
  const kwokPort = await freePort();
  log('starting kwok with one fake node');
  // KWOK's "fast" stages: nodes initialised and heart-beating, pods Running and Ready at once.
  const stages = await kubectl(['kustomize', tools.kwokStages]);
  writeFileSync(join(work, 'kwok.yaml'), stages);
  const kwok = procs.start({
    name: 'kwok',
    cmd: join(tools.kwokBin, 'kwok'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--config=${join(work, 'kwok.yaml')}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--cidr=10.244.0.0/16',
      '--node-ip=10.0.0.1',
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${kwokPort}`,
    ],
  });
  await kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: 'kwok-node-0',
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: {
          'kubernetes.io/hostname': 'kwok-node-0',
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
      },
      status: {
        allocatable: { cpu: '64', memory: '256Gi', pods: '250' },
        capacity: { cpu: '64', memory: '256Gi', pods: '250' },
        nodeInfo: { architecture: 'amd64', kubeletVersion: 'fake', operatingSystem: 'linux' },
      },
    }),
  });
  await waitFor(
    'the fake node to be Ready',
    60_000,
    async () => {
      const node = await kube.get('/api/v1/nodes/kwok-node-0');
      return arr(at(node, 'status', 'conditions')).some(
        (c) => at(c, 'type') === 'Ready' && at(c, 'status') === 'True',
      )
        ? true
        : undefined;
    },
    { alive: () => procs.assertAlive(kwok), intervalMs: 1000 },
  );
  // The API server taints a new node not-ready; the node-lifecycle controller (not run here: it
  // would also evict fake pods) lifts it once the node is Ready, so do that one step by hand.
  await kubectl(['taint', 'nodes', 'kwok-node-0', 'node.kubernetes.io/not-ready:NoSchedule-']).catch(
    (err: unknown) => {
      if (!String(err).includes('not found')) throw err;
    },
  );

  // CRDs (server-side apply: Istio's CRDs are too large for the last-applied annotation)
  log('applying the Argo Rollouts and Istio CRDs');
  await kubectl(['apply', '--server-side', '--force-conflicts', '-k', crds.argo]);
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', crds.istio]);
  await kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/rollouts.argoproj.io',
    'crd/analysisruns.argoproj.io',
    'crd/analysistemplates.argoproj.io',
    'crd/clusteranalysistemplates.argoproj.io',
    'crd/experiments.argoproj.io',
    'crd/virtualservices.networking.istio.io',
    'crd/destinationrules.networking.istio.io',
  ]);

  // Argo Rollouts controller, out of cluster
  await kubectl(['create', 'namespace', 'argo-rollouts']);
  const registerPlugin = async (p: PluginRegistration | undefined): Promise<void> => {
    const entries =
      p === undefined ? [] : [{ name: p.name, location: p.location, sha256: p.sha256, args: p.args }];
    if (p !== undefined) log(`registering the metric plugin ${p.name} (${p.location}, sha256 ${p.sha256})`);
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'argo-rollouts-config', namespace: 'argo-rollouts' },
      data: entries.length === 0 ? {} : { metricProviderPlugins: JSON.stringify(entries) },
    };
    const file = join(work, 'argo-rollouts-config.json');
    writeFileSync(file, JSON.stringify(cm));
    await kubectl(['apply', '-f', file]);
  };
  // The controller copies plugins into plugin-bin/ under its working directory.
  const controllerDir = join(work, 'rollouts-controller');
  mkdirSync(controllerDir, { recursive: true });
  const launchController: Cluster['launchController'] = async (name, env = {}) => {
    const [metricsPort, healthzPort] = [await freePort(), await freePort()];
    log(`starting the Argo Rollouts controller (${name})`);
    const proc = procs.start({
      name,
      cmd: join(tools.argoBin, 'rollouts-controller'),
      cwd: controllerDir,
      args: [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--ingress-api-version=networking/v1',
        `--metricsPort=${metricsPort}`,
        `--healthzPort=${healthzPort}`,
        '--loglevel=info',
      ],
      env: { POD_NAMESPACE: 'argo-rollouts', ...env },
    });
    const healthzUrl = `http://127.0.0.1:${healthzPort}/healthz`;
    return {
      proc,
      healthzUrl,
      healthy: async (timeoutMs = 60_000) => {
        await waitFor(
          `the Argo Rollouts controller (${name}) /healthz`,
          timeoutMs,
          () => httpOk(healthzUrl),
          {
            alive: () => procs.assertAlive(proc),
            intervalMs: 1000,
          },
        );
      },
    };
  };
  if (plugin !== undefined) await registerPlugin(plugin);
  const first = await launchController('rollouts-controller', plugin?.env);
  await first.healthy();
  return {
    kubeconfig,
    server,
    token,
    caFile,
    kube,
    kubectl,
    argoController: first.proc,
    registerPlugin,
    launchController,
  };
}
