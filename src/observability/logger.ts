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
  return winston.createLogger({
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
}
