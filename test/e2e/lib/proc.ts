// Starts the end-to-end test's processes, each with its own log file, remembers their pids (also in
// a pid file that run.sh reads if this process dies without cleaning up), and stops exactly those
// pids in reverse start order.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcOptions {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
  readonly child: ChildProcess;
  exited: boolean;
  exitCode: number | null;
}

export class ProcessGroup {
  private readonly procs: Proc[] = [];

  constructor(
    readonly logDir: string,
    private readonly pidFile: string,
  ) {}

  start(opts: ProcOptions): Proc {
    const log = join(this.logDir, `${opts.name}.log`);
    const fd = openSync(log, 'a');
    appendFileSync(log, `# ${new Date().toISOString()} ${opts.cmd} ${opts.args.join(' ')}\n`);
    const child = spawn(opts.cmd, [...opts.args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${opts.name} (${opts.cmd})`);
    const proc: Proc = { name: opts.name, pid: child.pid, log, child, exited: false, exitCode: null };
    child.on('exit', (code, signal) => {
      proc.exited = true;
      proc.exitCode = code ?? (signal ? 128 : null);
    });
    child.on('error', (err) => {
      proc.exited = true;
      appendFileSync(log, `# spawn error: ${err.message}\n`);
    });
    this.procs.push(proc);
    appendFileSync(this.pidFile, `${child.pid} ${opts.name}\n`);
    return proc;
  }

  /** Throws if a process that should be running has exited (with its log tail). */
  assertAlive(proc: Proc): void {
    if (proc.exited) {
      throw new Error(`${proc.name} exited (code ${String(proc.exitCode)}):\n${tail(proc.log, 30)}`);
    }
  }

  async stop(proc: Proc, graceMs = 5000): Promise<void> {
    if (!proc.exited) {
      proc.child.kill('SIGTERM');
      const deadline = Date.now() + graceMs;
      while (!proc.exited && Date.now() < deadline) await sleep(100);
      if (!proc.exited) {
        proc.child.kill('SIGKILL');
        while (!proc.exited) await sleep(50);
      }
    }
    const i = this.procs.indexOf(proc);
    if (i >= 0) this.procs.splice(i, 1);
  }

  async stopAll(): Promise<void> {
    for (const proc of [...this.procs].reverse()) await this.stop(proc);
  }

  all(): readonly Proc[] {
    return this.procs;
  }

  logTails(lines = 25): string {
    return this.procs
      .map(
        (p) =>
          `----- ${p.name} (pid ${p.pid}${p.exited ? `, exited ${String(p.exitCode)}` : ''}) ${p.log}\n${tail(p.log, lines)}`,
      )
      .join('\n');
  }
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '(no log)';
  const all = readFileSync(file, 'utf8').split('\n');
  return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value (not undefined) or the timeout passes. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  opts: { intervalMs?: number; alive?: () => void } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    opts.alive?.();
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`,
      );
    }
    await sleep(opts.intervalMs ?? 500);
  }
}
