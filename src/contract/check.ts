/**
 * One contract check, as the pre-traffic gate asks for it: read the named contract, replay each
 * of its safe requests against the canary and the stable (both allow-listed), compare the
 * answers (compare.ts) and give a verdict that names every broken operation and field.
 *
 *   Pass          every canary answer honours the contract and keeps the stable's fields;
 *   Fail          at least one canary answer does not (each finding in the summary);
 *   Inconclusive  the canary is fine but the stable itself does not honour the contract, so the
 *                 comparison proves nothing (a person looks: contract or stable is wrong).
 *
 * Target unreachable, too slow or the deadline passed → a JudgeError (an Error measurement),
 * never a verdict. Requests are bounded in number, time and size.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { JudgeError } from '../errors.js';
import { compareAnswers, type Finding } from './compare.js';
import { parseContract, type Contract } from './contract.js';
import type { FetchAnswer } from './fetch.js';
import { admitTarget, type TargetPattern } from './targets.js';

export type ContractVerdict = 'Pass' | 'Fail' | 'Inconclusive';

export interface ContractCheckRequest {
  readonly contract: string;
  readonly canary: string;
  readonly stable: string;
}

export interface ReplayResult {
  readonly operationId: string;
  readonly operation: string;
  readonly example: string;
  readonly request: string;
  readonly canaryStatus: number;
  readonly stableStatus: number;
  readonly findings: readonly Finding[];
}

export interface ContractCheckResult {
  readonly verdict: ContractVerdict;
  readonly summary: string;
  /** The compact answer an AnalysisTemplate selects with `jsonPath: "{$.measurement}"`. */
  readonly measurement: { readonly verdict: ContractVerdict; readonly summary: string };
  readonly contract: { readonly name: string; readonly version: string };
  readonly requests: number;
  readonly skippedOperations: readonly string[];
  readonly replays: readonly ReplayResult[];
}

export interface ContractCheckerOptions {
  /** Directory holding one `<name>.yaml` OpenAPI document per contract (a mounted ConfigMap). */
  readonly contractsDir: string;
  readonly targets: readonly TargetPattern[];
  readonly fetchAnswer: FetchAnswer;
  /** Largest number of requests one check may send (both sides counted). */
  readonly maxRequests: number;
  readonly deadlineMs: number;
}

export interface ContractChecker {
  check(body: unknown, signal?: AbortSignal): Promise<ContractCheckResult>;
}

/** Longest summary kept in the measurement; the full list is in `replays`. */
const SUMMARY_MAX = 1500;
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const requestSchema = z.object({
  contract: z.string().regex(NAME, 'a contract name: lower-case letters, digits and dashes'),
  canary: z.string().min(1).max(2048),
  stable: z.string().min(1).max(2048),
});

/** Parses the request body; the first problem becomes an invalid_request naming its field. */
export function parseContractCheckRequest(body: unknown): ContractCheckRequest {
  const r = requestSchema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
  throw new JudgeError('invalid_request', `${field}: ${issue?.message ?? 'invalid request'}`, { field });
}

async function loadContract(dir: string, name: string): Promise<Contract> {
  let text: string;
  try {
    text = await readFile(join(dir, `${name}.yaml`), 'utf8');
  } catch {
    throw new JudgeError('invalid_request', `no contract named ${name} in the judge's contracts`, {
      field: 'contract',
    });
  }
  return parseContract(name, text);
}

function verdictOf(replays: readonly ReplayResult[]): ContractVerdict {
  const all = replays.flatMap((r) => r.findings);
  if (all.some((f) => f.side === 'canary')) return 'Fail';
  return all.length > 0 ? 'Inconclusive' : 'Pass';
}

function summarize(c: Contract, verdict: ContractVerdict, replays: readonly ReplayResult[]): string {
  const head = `${verdict} contract ${c.name} ${c.version}`;
  const ops = new Set(replays.map((r) => r.operationId)).size;
  if (verdict === 'Pass')
    return `${head}: ${replays.length} requests to ${ops} operations answered as the contract declares, nothing lost against the stable`;
  const broken = replays.filter((r) => r.findings.length > 0);
  const parts = broken.map(
    (r) => `${r.operationId} (GET ${r.request}): ${r.findings.map((f) => f.message).join(', ')}`,
  );
  const what =
    verdict === 'Fail'
      ? `${broken.length} of ${replays.length} requests broken`
      : `the stable itself does not honour the contract on ${broken.length} of ${replays.length} requests`;
  let text = `${head}: ${what} — ${parts.join('; ')}`;
  if (text.length > SUMMARY_MAX) text = `${text.slice(0, SUMMARY_MAX - 1)}…`;
  return text;
}

export function createContractChecker(o: ContractCheckerOptions): ContractChecker {
  return {
    async check(body, signal) {
      const req = parseContractCheckRequest(body);
      const canary = admitTarget(req.canary, 'canary', o.targets);
      const stable = admitTarget(req.stable, 'stable', o.targets);
      const contract = await loadContract(o.contractsDir, req.contract);
      if (contract.requests.length * 2 > o.maxRequests) {
        throw new JudgeError(
          'invalid_request',
          `contract ${contract.name} has ${contract.requests.length} requests to replay on two targets, more than the judge's limit of ${o.maxRequests} (CANARY_JUDGE_CONTRACT_MAX_REQUESTS)`,
          { field: 'contract' },
        );
      }
      const deadline = AbortSignal.timeout(o.deadlineMs);
      const bounded = signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
      const at = (base: URL, target: string): URL => {
        const u = new URL(base.pathname.replace(/\/+$/, '') + target, base);
        // A contract path like `//elsewhere/x` would leave the admitted host: never send it.
        if (u.origin !== base.origin)
          throw new JudgeError(
            'invalid_request',
            `contract ${contract.name}: path ${target} leaves the target's host`,
            {
              field: 'contract',
            },
          );
        return u;
      };
      // Every URL first, so that a bad one stops the check before any request is sent.
      const urls = contract.requests.map((r) => ({
        canary: at(canary, r.target),
        stable: at(stable, r.target),
      }));
      const replays: ReplayResult[] = [];
      for (const [i, r] of contract.requests.entries()) {
        const u = urls[i] as { canary: URL; stable: URL };
        const [c, s] = await Promise.all([
          o.fetchAnswer(u.canary, bounded),
          o.fetchAnswer(u.stable, bounded),
        ]);
        replays.push({
          operationId: r.operationId,
          operation: r.operation,
          example: r.example,
          request: r.target,
          canaryStatus: c.status,
          stableStatus: s.status,
          findings: compareAnswers(contract, r, c, s),
        });
      }
      const verdict = verdictOf(replays);
      const summary = summarize(contract, verdict, replays);
      return {
        verdict,
        summary,
        measurement: { verdict, summary },
        contract: { name: contract.name, version: contract.version },
        requests: replays.length * 2,
        skippedOperations: contract.skipped,
        replays,
      };
    },
  };
}
