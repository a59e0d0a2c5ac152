/** JSON logs (winston): one object per line, with a request id on every request-scoped line. */

import winston from 'winston';
import type { LogLevel } from '../config/config.js';

export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Suppress output (tests). */
  readonly silent?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const logger = winston.createLogger({
    level: options.level,
    silent: options.silent ?? false,
    defaultMeta: { service: 'canary-judge' },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
  skipDisabledLevels(logger);
  return logger;
}

/**
 * winston stamps and serialises every line before its transport drops one below the level, so
 * an analysis' info line cost as much at `warn` as at `info`. Each level's method now returns at
 * once when its level is off (checked per call: the level may be changed at run time).
 */
function skipDisabledLevels(logger: Logger): void {
  for (const level of NPM_LEVELS) {
    const write = logger[level].bind(logger) as (...args: unknown[]) => Logger;
    const skipping = (...args: unknown[]): Logger => (logger.isLevelEnabled(level) ? write(...args) : logger);
    logger[level] = skipping as winston.LeveledLogMethod;
  }
}

/** winston's default levels, each a method of the logger. */
const NPM_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
