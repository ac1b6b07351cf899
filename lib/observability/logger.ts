// Structured JSON logs for every kvcloud process. Controllers derive per-reconcile children carrying
// `controller`, `object` and `reconcileID`, so one reconcile can be followed across lines.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** The component name, e.g. `infrastructure-provider`; lands in every line as `component`. */
  component?: string;
  /** Where lines go; stdout when omitted. Tests pass an in-memory stream. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const base = opts.component ? { component: opts.component } : {};
  const options = { level: opts.level ?? 'info', base, timestamp: pino.stdTimeFunctions.isoTime };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * Resolves `--log-level` and `-v` into one level. An explicit `--log-level` wins; otherwise each `-v` lowers the
 * threshold one step below info (`-v` debug, `-vv` trace), the way operators expect from klog-style binaries.
 */
export function resolveLogLevel(flags: { logLevel?: string | undefined; verbosity?: number | undefined }): LogLevel {
  if (flags.logLevel !== undefined) {
    if (!isLogLevel(flags.logLevel)) {
      throw new Error(`--log-level: "${flags.logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
    }
    return flags.logLevel;
  }
  const verbosity = flags.verbosity ?? 0;
  if (verbosity >= 2) return 'trace';
  if (verbosity === 1) return 'debug';
  return 'info';
}
