/**
 * POST /api/v1/contract-checks: the contract gate over HTTP, for Argo's web provider. The body
 * names a contract and two targets (`{"contract":"catalogo","canary":"http://…","stable":"http://…"}`);
 * the answer is the check's verdict with `measurement` for the template's jsonPath. Errors are
 * the judge's JSON errors: a target off the allow-list 403, a target down 502, slow 504 — Argo
 * records those as Error measurements, never a Pass.
 */

import type { Request, Response } from 'express';
import { HTTP_STATUS, JudgeError, isJudgeError } from '../../errors.js';
import type { ContractChecker } from '../../contract/index.js';
import type { Logger } from '../../observability/logger.js';

export const CONTRACT_CHECKS_PATH = '/api/v1/contract-checks';

/** The route's last handler (auth and body parsing run before it). */
export function contractChecksHandler(
  checker: ContractChecker | undefined,
  logger: Logger,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const requestId = String(res.getHeader('X-Request-Id') ?? '');
    const fail = (e: JudgeError): void => {
      if (!res.headersSent) res.status(HTTP_STATUS[e.code]).json(e.toBody());
    };
    if (checker === undefined) {
      fail(new JudgeError('not_found', 'contract checks are not configured (CANARY_JUDGE_CONTRACTS_DIR)'));
      return;
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) abort.abort(new JudgeError('deadline_exceeded', 'the client went away'));
    });
    try {
      const result = await checker.check(req.body, abort.signal);
      res.locals['verdict'] = result.verdict;
      logger.info('contract check', { requestId, verdict: result.verdict, summary: result.summary });
      res.json(result);
    } catch (e) {
      const je = isJudgeError(e) ? e : new JudgeError('internal', 'internal error');
      if (je.code === 'internal') logger.error('contract check failed', { requestId, error: String(e) });
      else
        logger.info('contract check refused or not answered', {
          requestId,
          code: je.code,
          message: je.message,
        });
      fail(je);
    }
  };
}
