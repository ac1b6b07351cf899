// The command-line flags every kvcloud binary shares, spelled as Cluster API managers spell them so Deployment
// manifests and operators' habits carry over. Components add their own options alongside.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { resolveLogLevel, type LogLevel } from '../observability/logger.js';

export interface ManagerFlags {
  kubeconfig: string | undefined;
  /** Watch and reconcile only this namespace; all namespaces when unset. */
  namespace: string | undefined;
  leaderElect: boolean;
  leaderElectionNamespace: string | undefined;
  leaderElectionId: string | undefined;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  concurrency: number;
  logLevel: LogLevel;
}

const COMMON_OPTIONS = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  'leader-elect': { type: 'boolean' },
  'leader-election-namespace': { type: 'string' },
  'leader-election-id': { type: 'string' },
  'leader-elect-lease-duration': { type: 'string', default: '15s' },
  'leader-elect-renew-deadline': { type: 'string', default: '10s' },
  'leader-elect-retry-period': { type: 'string', default: '2s' },
  'metrics-bind-address': { type: 'string', default: ':8080' },
  'health-probe-bind-address': { type: 'string', default: ':9440' },
  concurrency: { type: 'string', default: '10' },
  'log-level': { type: 'string' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
} as const satisfies ParseArgsOptionsConfig;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations: "15s", "500ms", "1m30s". */
export function parseDuration(value: string, flag: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new Error(`--${flag}: "${value}" is not a duration like 15s, 500ms or 1m30s`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] ?? 's'] ?? 1000), 0);
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: "${value}" must be a positive integer`);
  return n;
}

export type FlagValue = string | boolean | (string | boolean)[] | undefined;

export interface ParsedFlags {
  flags: ManagerFlags;
  /** Every parsed option by name, the component's own included. */
  values: Record<string, FlagValue>;
  positionals: string[];
}

export function parseManagerFlags(argv: string[], extraOptions: ParseArgsOptionsConfig = {}): ParsedFlags {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, ...extraOptions },
    strict: true,
    allowPositionals: true,
  });
  const v = values as Record<string, FlagValue>;
  const str = (name: keyof typeof COMMON_OPTIONS): string | undefined => v[name] as string | undefined;
  const flags: ManagerFlags = {
    kubeconfig: str('kubeconfig'),
    namespace: str('namespace'),
    leaderElect: v['leader-elect'] === true,
    leaderElectionNamespace: str('leader-election-namespace'),
    leaderElectionId: str('leader-election-id'),
    leaseDurationMs: parseDuration(str('leader-elect-lease-duration') ?? '15s', 'leader-elect-lease-duration'),
    renewDeadlineMs: parseDuration(str('leader-elect-renew-deadline') ?? '10s', 'leader-elect-renew-deadline'),
    retryPeriodMs: parseDuration(str('leader-elect-retry-period') ?? '2s', 'leader-elect-retry-period'),
    metricsBindAddress: str('metrics-bind-address') ?? ':8080',
    healthProbeBindAddress: str('health-probe-bind-address') ?? ':9440',
    concurrency: positiveInt(str('concurrency') ?? '10', 'concurrency'),
    logLevel: resolveLogLevel({ logLevel: str('log-level'), verbosity: (v.verbose as boolean[] | undefined)?.length }),
  };
  return { flags, values: v, positionals };
}
