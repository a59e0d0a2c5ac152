/**
 * POST /api/v1/contract-checks: the contract gate over HTTP, for Argo's web provider. The body
 * names a contract and two targets (`{"contract":"catalogo","canary":"http://…","stable":"http://…"}`);
 * the answer is the check's verdict with `measurement` for the template's jsonPath. Errors are
 * the judge's JSON errors: a target off the allow-list 403, a target down 502, slow 504 — Argo
 * records those as Error measurements, never a Pass.
 */

import { JudgeError, isJudgeError } from '../../errors.js';
import type { ContractChecker, ContractCheckResult } from '../../contract/index.js';
import type { Logger } from '../../observability/logger.js';

export const CONTRACT_CHECKS_PATH = '/api/v1/contract-checks';

/**
 * One contract check of a parsed body (auth and body reading done by the app); rejects with the
 * JudgeError to answer, `internal` (logged here) for anything unexpected.
 */
export async function contractCheck(
  checker: ContractChecker | undefined,
  logger: Logger,
  body: unknown,
  signal: AbortSignal,
  requestId: string,
): Promise<ContractCheckResult> {
  if (checker === undefined)
    throw new JudgeError('not_found', 'contract checks are not configured (CANARY_JUDGE_CONTRACTS_DIR)');
  try {
    const result = await checker.check(body, signal);
    logger.info('contract check', { requestId, verdict: result.verdict, summary: result.summary });
    return result;
  } catch (e) {
    const je = isJudgeError(e) ? e : new JudgeError('internal', 'internal error');
    if (je.code === 'internal') logger.error('contract check failed', { requestId, error: String(e) });
    else
      logger.info('contract check refused or not answered', {
        requestId,
        code: je.code,
        message: je.message,
      });
    throw je;
  }
}
