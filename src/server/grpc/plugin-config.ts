/**
 * AnalyzePluginConfig's request → the judge's request model. The configuration's bytes are
 * JSON; src/judge/plugin-config.ts makes them a request body with what the AnalysisRun says,
 * and the HTTP body's parser (the one coercion of Argo's string-typed values, then the request
 * model) validates it: a configuration is accepted exactly when the same body would be by
 * POST /api/v1/analyses, with the same messages. Field paths are the configuration's.
 */

import type { AnalyzePluginConfigRequest } from '../../gen/canary_judge/v1/plugin.js';
import { pluginRequestBody } from '../../judge/plugin-config.js';
import type { ParseResult } from '../../judge/request.js';
import { parseRequestBody } from '../http/request-body.js';

/** Parses the plugin's configuration in its AnalysisRun; never throws. */
export function parsePluginConfig(req: AnalyzePluginConfigRequest): ParseResult {
  const text = Buffer.from(req.config).toString('utf8');
  let config: unknown;
  if (text.trim() === '') {
    config = undefined;
  } else {
    try {
      config = JSON.parse(text);
    } catch (e) {
      return {
        ok: false,
        errors: [
          {
            field: 'config',
            message: `the plugin configuration is not JSON: ${e instanceof Error ? e.message : String(e)}`,
          },
        ],
      };
    }
  }
  const run = req.run;
  const shaped = pluginRequestBody(config, {
    name: run?.name ?? '',
    namespace: run?.namespace ?? '',
    rollout: run?.rollout ?? '',
    labels: run?.labels ?? {},
  });
  if (!shaped.ok) return shaped;
  const parsed = parseRequestBody(shaped.body);
  if (parsed.ok) return parsed;
  // The model calls the request itself `body`; here it is the configuration.
  return {
    ok: false,
    errors: parsed.errors.map((e) => (e.field === 'body' ? { ...e, field: 'config' } : e)),
  };
}
