/**
 * The judge's built image, run by podman the way deploy/canary-judge's Deployment runs it: the
 * container's user, read-only root filesystem, dropped capabilities, no privilege escalation,
 * memory limit, the /tmp emptyDir and the auth token mounted as a file are read from the manifest
 * itself and turned into podman flags. Against a real Prometheus (the Debian package, backfilled with an
 * hour of a healthy and a 3x-error canary by promtool) on the host's loopback, reached from
 * inside the container over the host network: probes, a verdict, the 401 without a token, and
 * SIGTERM with an analysis in flight (node is PID 1: it must finish the analysis and exit 0).
 *
 * Needs CANARY_JUDGE_IMAGE (an image ID or name in the local storage); test/image/run.sh builds
 * the image and sets it.
 */

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { openMetrics } from '../integration/harness/simulation.js';
import { CANARY_HASH, STABLE_HASH, combined } from '../integration/harness/scenarios.js';

const run = promisify(execFile);
const IMAGE = process.env['CANARY_JUDGE_IMAGE'] ?? '';
const TOKEN = 'image-test-token';
const HOUR = 3600;

/**
 * What podman needs on hosts like the CI machine, whatever the manifest says: crun refuses some
 * cgroup layouts, and podman's default ulimits can exceed the host's hard limits.
 */
const HOST_FLAGS = ['--runtime', 'runc', '--ulimit', 'nofile=1024:20000', '--ulimit', 'nproc=4096:4096'];

interface Container {
  readonly id: string;
  readonly url: string;
}

interface DeploymentShape {
  readonly flags: string[];
  readonly env: Record<string, string>;
  readonly tokenPath: string;
  readonly memoryBytes: number;
}

let prom: PrometheusHandle;
let t0: number;
let work: string;
let deployment: DeploymentShape;
const started: string[] = [];

async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('podman', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** The contracts ConfigMap as the pod sees it: each key of deploy/canary-judge's ConfigMap a file in dir. */
async function contractsDir(dir: string): Promise<string> {
  const cm = parse(await readFile('deploy/canary-judge/base/contracts-configmap.yaml', 'utf8')) as {
    metadata: { name: string };
    data?: Record<string, string>;
  };
  if (cm.metadata.name !== 'canary-judge-contracts' || cm.data === undefined)
    throw new Error('deploy/canary-judge/base/contracts-configmap.yaml: no canary-judge-contracts data');
  await mkdir(dir, { recursive: true });
  for (const [key, text] of Object.entries(cm.data)) await writeFile(join(dir, key), text);
  return dir;
}

/** The judge container's spec in deploy/canary-judge, as podman flags. */
async function deploymentShape(tokenFile: string): Promise<DeploymentShape> {
  const doc = parse(await readFile('deploy/canary-judge/base/deployment.yaml', 'utf8'));
  const pod = doc.spec.template.spec;
  const c = pod.containers.find((x: { name: string }) => x.name === 'canary-judge');
  const sc = c.securityContext;
  // The manifest is the source of truth; fail loudly if it stops saying what this test relies on.
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(sc.readOnlyRootFilesystem).toBe(true);
  expect(sc.allowPrivilegeEscalation).toBe(false);
  expect(sc.capabilities.drop).toEqual(['ALL']);
  const flags = [
    '--user',
    `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`,
    '--read-only',
    '--read-only-tmpfs=false',
    '--cap-drop=ALL',
    '--security-opt',
    'no-new-privileges',
  ];
  // The memory limit, so the judge runs (and Node sizes its heap) within what the pod gets.
  const memory = /^(\d+)Mi$/.exec(String(c.resources?.limits?.memory));
  if (memory === null) throw new Error(`memory limit ${c.resources?.limits?.memory}: expected <n>Mi`);
  flags.push('--memory', `${memory[1]}m`);
  let tokenPath = '';
  for (const m of c.volumeMounts as { name: string; mountPath: string }[]) {
    const v = pod.volumes.find((x: { name: string }) => x.name === m.name);
    if (v.emptyDir !== undefined) flags.push('--tmpfs', `${m.mountPath}:rw,size=16m,mode=1777`);
    else if (v.secret !== undefined) {
      tokenPath = `${m.mountPath}/token`;
      flags.push('-v', `${tokenFile}:${tokenPath}:ro`);
    } else if (v.configMap?.name === 'canary-judge-contracts') {
      flags.push('-v', `${await contractsDir(join(tokenFile, '..', 'contracts'))}:${m.mountPath}:ro`);
    } else throw new Error(`volume ${m.name}: no podman equivalent in this test`);
  }
  const env: Record<string, string> = {};
  for (const e of c.env as { name: string; value?: string }[])
    if (e.value !== undefined) env[e.name] = e.value;
  expect(env['CANARY_JUDGE_AUTH_TOKEN_FILE']).toBe(tokenPath);
  return { flags, env, tokenPath, memoryBytes: Number(memory[1]) * 1024 * 1024 };
}

/** Starts the image as the Deployment does, on free loopback ports; waits for /healthz. */
async function startContainer(extraEnv: Record<string, string> = {}): Promise<Container> {
  const port = await freePort();
  const grpcPort = await freePort();
  const env = {
    ...deployment.env,
    CANARY_JUDGE_HOST: '127.0.0.1',
    CANARY_JUDGE_PORT: String(port),
    CANARY_JUDGE_GRPC_PORT: String(grpcPort),
    CANARY_JUDGE_PROMETHEUS_URL: prom.url,
    ...extraEnv,
  };
  const id = await podman(
    'run',
    '--detach',
    ...HOST_FLAGS,
    '--network=host',
    ...deployment.flags,
    ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    IMAGE,
  );
  started.push(id);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { id, url };
    } catch {
      // not listening yet
    }
    const state = await podman('inspect', '--format', '{{.State.Status}}', id);
    if (state !== 'running' || Date.now() > deadline) {
      throw new Error(`container ${state}, not healthy:\n${await podman('logs', id)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function analysis(namespace: string) {
  return {
    rollout: { name: 'catalogo', namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: new Date(t0 * 1000).toISOString(),
    end: new Date((t0 + HOUR) * 1000).toISOString(),
    interval: '60s',
    checks: [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }],
  };
}

/** The parts of the judge's answer (or error) these tests read. */
interface Answer {
  readonly verdict?: string;
  readonly summary?: string;
  readonly checks?: readonly { name: string; reason: string }[];
  readonly window?: { intervals: number };
  readonly error?: { code: string };
}

/** POSTs an analysis, with the bearer token unless `token` is null. */
async function post(url: string, body: unknown, token: string | null = TOKEN) {
  const res = await fetch(`${url}/api/v1/analyses`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

beforeAll(async () => {
  if (IMAGE === '') throw new Error('CANARY_JUDGE_IMAGE is not set: run test/image/run.sh');
  work = await mkdtemp(join(tmpdir(), 'canary-judge-image-'));
  const tokenFile = join(work, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o644 });
  deployment = await deploymentShape(tokenFile);
  const now = Math.floor(Date.now() / 1000);
  t0 = Math.floor((now - HOUR - 600) / 60) * 60;
  prom = await startPrometheus({
    backfill: openMetrics(combined(['healthy', 'error-3x'], 42), t0, HOUR, 15),
  });
});

afterAll(async () => {
  for (const id of started) await podman('rm', '--force', '--time', '0', id).catch(() => undefined);
  prom?.resume();
  await prom?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('the judge image, run as its Deployment runs it', () => {
  it('runs node as PID 1 under uid 10001, with no capabilities, a read-only root filesystem and the memory limit', async () => {
    const c = await startContainer();
    expect(await podman('image', 'inspect', '--format', '{{.Config.User}}', IMAGE)).toBe('10001:10001');
    const status = await podman('exec', c.id, 'cat', '/proc/1/status');
    expect(status).toMatch(/^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).toMatch(/^CapBnd:\s+0+$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    const cmdline = await podman('exec', c.id, 'cat', '/proc/1/cmdline');
    expect(cmdline.split('\0').filter((a) => a !== '')).toEqual(['node', 'dist/src/main.js']);
    const write = await run('podman', ['exec', c.id, 'sh', '-c', 'echo x > /app/probe']).then(
      () => 'written',
      (e: { stderr?: string }) => e.stderr ?? '',
    );
    expect(write).toMatch(/Read-only file system/);
    const limit = await podman(
      'exec',
      c.id,
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
    );
    expect(Number(limit)).toBe(deployment.memoryBytes);
    // The emptyDir stands where a process may legitimately write.
    await podman('exec', c.id, 'sh', '-c', 'echo x > /tmp/probe');
  });

  it('answers /healthz, and /readyz with Prometheus reachable from inside the container', async () => {
    const c = await startContainer();
    const health = await fetch(`${c.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${c.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', prometheus: { reachable: true } });
  });

  it('fails a 3x-error canary and keeps a healthy one from failing, from the real Prometheus', async () => {
    const c = await startContainer();
    const bad = await post(c.url, analysis('error-3x'));
    expect(bad.status, JSON.stringify(bad.body)).toBe(200);
    expect(bad.body.verdict).toBe('Fail');
    expect(bad.body.checks?.[0]).toMatchObject({ name: 'error-rate', reason: 'regression_detected' });
    const good = await post(c.url, analysis('healthy'));
    expect(good.status).toBe(200);
    expect(good.body.verdict, good.body.summary).not.toBe('Fail');
    expect(good.body.window?.intervals).toBe(60);
  });

  it('refuses an analysis without the token mounted from the Secret', async () => {
    const c = await startContainer();
    const r = await post(c.url, analysis('healthy'), null);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('on SIGTERM as PID 1, fails readiness, finishes the analysis in flight and exits 0', async () => {
    const c = await startContainer({
      CANARY_JUDGE_PROMETHEUS_TIMEOUT: '20s',
      CANARY_JUDGE_ANALYSIS_DEADLINE: '20s',
    });
    prom.pause(); // the analysis now waits on Prometheus
    try {
      const inFlight = post(c.url, analysis('error-3x'));
      await new Promise((r) => setTimeout(r, 500));
      await podman('kill', '--signal', 'TERM', c.id);
      await new Promise((r) => setTimeout(r, 500));
      expect(await podman('inspect', '--format', '{{.State.Status}}', c.id)).toBe('running');
      // Not ready any more: a 503, or the listener already closed to new connections.
      const ready = await fetch(`${c.url}/readyz`).then(
        (res) => res.status,
        () => 'refused',
      );
      expect(ready === 503 || ready === 'refused', String(ready)).toBe(true);
      prom.resume();
      const r = await inFlight;
      expect(r.status).toBe(200);
      expect(r.body.verdict).toBe('Fail');
      expect(await podman('wait', c.id)).toBe('0');
      const logs = await podman('logs', c.id);
      expect(logs).toContain('"signal":"SIGTERM"');
      expect(logs).toContain('"message":"stopped"');
    } finally {
      prom.resume();
    }
  });

  it('runs the Node.js the Dockerfile and the test runtime name', async () => {
    const versions = await readFile('scripts/lib/runtime-versions.sh', 'utf8');
    const node = /^NODE_VERSION=(\S+)$/m.exec(versions)?.[1];
    const suite = /^DEBIAN_SUITE=(\S+)$/m.exec(versions)?.[1];
    const dockerfile = await readFile('Dockerfile', 'utf8');
    expect(dockerfile).toContain(`ARG NODE_IMAGE=node:${node}-${suite}-slim`);
    const out = await podman('run', '--rm', ...HOST_FLAGS, '--entrypoint', 'node', IMAGE, '--version');
    expect(out).toBe(`v${node}`);
  });

  it('runs the report command line when its first argument is report, with its dependencies', async () => {
    // The entrypoint (node dist/src/main.js) runs the server, or `canary-judge report …` when told
    // so. The report's modules (the Kubernetes client, Chart.js) are imported at start, so --help
    // proves they load.
    const { stdout } = await run('podman', ['run', '--rm', ...HOST_FLAGS, IMAGE, 'report', '--help']);
    expect(stdout).toContain('usage: canary-judge report ROLLOUT -n NAMESPACE');
  });
});
