// The `kvcloud` command line: what each verb accepts, turned into one Command value, so kvcloud.ts only dispatches
// and a mistake on the command line is a usage error (exit code 2) naming the fix, before anything starts.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** What the local cloud runs: `local` is the management cluster with the providers; `demo` adds tenants. */
export type Profile = 'local' | 'demo';

export type HelpTopic = 'kvcloud' | 'local' | 'local up' | 'local down' | 'local status' | 'demo' | 'demo down' | 'demo status';

export type Command =
  | { kind: 'help'; topic: HelpTopic }
  | { kind: 'up'; profile: Profile; clusters: number; stateDir?: string }
  | { kind: 'down'; profile: Profile; stateDir?: string }
  | { kind: 'status'; profile: Profile; json: boolean; stateDir?: string }
  // Internal verbs: the supervisor in the caller's network namespace, and the part inside the cluster's.
  | { kind: 'host'; profile: Profile; clusters: number; stateDir: string }
  | { kind: 'serve'; profile: Profile; clusters: number; stateDir: string };

export class UsageError extends Error {
  constructor(
    message: string,
    readonly topic: HelpTopic,
  ) {
    super(message);
  }
}

export const MAX_CLUSTERS = 5;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;
const STATE_DIR = { 'state-dir': { type: 'string' } } as const;

type Values = Record<string, string | boolean | undefined>;

/** node:util parseArgs, with its errors turned into usage errors of `topic`. */
function parse(args: string[], options: ParseArgsOptionsConfig, topic: HelpTopic): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: values as Values, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message, topic);
  }
}

function noPositionals(positionals: string[], topic: HelpTopic): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0] ?? ''}"`, topic);
}

const stringValue = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

export function parseClusters(value: string | undefined): number {
  if (value === undefined) return 1;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CLUSTERS) throw new UsageError(`--clusters must be a whole number from 1 to ${MAX_CLUSTERS}, not "${value}"`, 'demo');
  return n;
}

function stateDirOf(values: Values): { stateDir?: string } {
  const v = values['state-dir'];
  return typeof v === 'string' ? { stateDir: v } : {};
}

function requiredStateDir(values: Values, verb: string): string {
  const v = values['state-dir'];
  if (typeof v !== 'string') throw new UsageError(`${verb} needs --state-dir`, 'kvcloud');
  return v;
}

function parseProfile(value: string | boolean | undefined): Profile {
  if (value === 'local' || value === 'demo') return value;
  throw new UsageError(`--profile must be local or demo, not "${String(value)}"`, 'kvcloud');
}

export function parseCommand(argv: string[]): Command {
  const [verb, ...rest] = argv;
  switch (verb) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      return { kind: 'help', topic: 'kvcloud' };
    case 'local':
      return parseLocal(rest);
    case 'demo':
      return parseDemo(rest);
    case '__host':
    case '__serve': {
      const { values, positionals } = parse(rest, { ...STATE_DIR, profile: { type: 'string' }, clusters: { type: 'string' } }, 'kvcloud');
      noPositionals(positionals, 'kvcloud');
      const profile = parseProfile(values.profile);
      const clusters = profile === 'local' ? 0 : parseClusters(stringValue(values.clusters));
      const common = { profile, clusters, stateDir: requiredStateDir(values, verb) };
      return { kind: verb === '__host' ? 'host' : 'serve', ...common };
    }
    default:
      throw new UsageError(`unknown command "${verb}"`, 'kvcloud');
  }
}

function parseLocal(argv: string[]): Command {
  const [sub, ...rest] = argv;
  switch (sub) {
    case undefined:
    case '-h':
    case '--help':
      return { kind: 'help', topic: 'local' };
    case 'up':
    case 'down': {
      const topic = `local ${sub}` as const;
      const { values, positionals } = parse(rest, { ...HELP, ...STATE_DIR }, topic);
      noPositionals(positionals, topic);
      if (values.help) return { kind: 'help', topic };
      return sub === 'up' ? { kind: 'up', profile: 'local', clusters: 0, ...stateDirOf(values) } : { kind: 'down', profile: 'local', ...stateDirOf(values) };
    }
    case 'status': {
      const { values, positionals } = parse(rest, { ...HELP, ...STATE_DIR, json: { type: 'boolean' } }, 'local status');
      noPositionals(positionals, 'local status');
      if (values.help) return { kind: 'help', topic: 'local status' };
      return { kind: 'status', profile: 'local', json: values.json === true, ...stateDirOf(values) };
    }
    default:
      throw new UsageError(`unknown command "local ${sub}"`, 'local');
  }
}

function parseDemo(argv: string[]): Command {
  const [sub, ...rest] = argv;
  if (sub === 'down' || sub === 'status') {
    const topic = `demo ${sub}` as const;
    const { values, positionals } = parse(rest, { ...HELP, ...STATE_DIR, ...(sub === 'status' ? { json: { type: 'boolean' } } : {}) }, topic);
    noPositionals(positionals, topic);
    if (values.help) return { kind: 'help', topic };
    return sub === 'down' ? { kind: 'down', profile: 'demo', ...stateDirOf(values) } : { kind: 'status', profile: 'demo', json: values.json === true, ...stateDirOf(values) };
  }
  const { values, positionals } = parse(argv, { ...HELP, ...STATE_DIR, clusters: { type: 'string' } }, 'demo');
  if (values.help) return { kind: 'help', topic: 'demo' };
  if (positionals.length > 0) throw new UsageError(`unknown command "demo ${positionals[0] ?? ''}"`, 'demo');
  return { kind: 'up', profile: 'demo', clusters: parseClusters(stringValue(values.clusters)), ...stateDirOf(values) };
}

const HELP_TEXT: Record<HelpTopic, string> = {
  kvcloud: `kvcloud: tenant Kubernetes clusters on KubeVirt, on a local cloud that needs no Docker (run as root)

usage:
  kvcloud demo [--clusters N]     the main job: management cluster, providers, and N tenant clusters
  kvcloud demo down               stop the demo and remove everything it made
  kvcloud demo status [--json]    is the demo running, and how to reach it
  kvcloud local up                the local cloud without tenants, in the background (make dev-up)
  kvcloud local down              stop it (make dev-down)
  kvcloud local status [--json]   is it running, and how to reach it (make dev-status)

Run \`kvcloud <command> --help\` for a command's options.
exit codes: 0 ok, 1 failure, 2 usage error, 3 (status) not running`,
  local: `usage: kvcloud local up|down|status

The local cloud: an embedded management cluster in a private network namespace, with cert-manager, Cluster API,
kvcloud's infrastructure and control plane providers (run from this work tree), the KubeVirt/CDI simulator and an
etcd DataStore "default". Its kubeconfig works from the host shell: the apiserver is forwarded to 127.0.0.1.`,
  'local up': `usage: kvcloud local up [--state-dir DIR]

Starts the local cloud in the background and returns once it is ready, printing its kubeconfig.
  --state-dir DIR   where its state, logs and kubeconfigs live (default ~/.cache/kvcloud/dev)`,
  'local down': `usage: kvcloud local down [--state-dir DIR]

Stops the local cloud and removes every process, namespace, mount and file it made.`,
  'local status': `usage: kvcloud local status [--json] [--state-dir DIR]

Prints whether the local cloud runs and how to reach it; exit code 3 when it does not run.
  --json   the state as one JSON object`,
  demo: `usage: kvcloud demo [--clusters N] [--state-dir DIR]

Starts the local cloud, then N tenant clusters (default 1, at most ${MAX_CLUSTERS}) from the default cluster template:
hosted control plane, 2 workers as simulated KubeVirt VMs that join for real. Shows each step as it runs, then
the \`clusterctl describe cluster\` tree and commands to paste, and keeps running until Ctrl-C or \`kvcloud demo down\`.
  --clusters N      how many tenant clusters
  --state-dir DIR   where its state, logs and kubeconfigs live (default ~/.cache/kvcloud/demo)`,
  'demo down': `usage: kvcloud demo down [--state-dir DIR]

Stops a running demo (from another shell) and removes every process, namespace, mount and file it made.`,
  'demo status': `usage: kvcloud demo status [--json] [--state-dir DIR]

Prints whether the demo runs and how to reach it; exit code 3 when it does not run.`,
};

export function helpText(topic: HelpTopic): string {
  return HELP_TEXT[topic];
}
