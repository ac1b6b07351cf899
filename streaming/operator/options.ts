// The operator endpoint's command line: the common flags of every kvcloud process (kubeconfig, --namespace for the
// one namespace served, metrics and probe addresses, log level) and its own.
import type { ParseArgsOptionsConfig } from 'node:util';
import { parseManagerFlags, type ManagerFlags } from '../../lib/controller/manager-flags.js';
import { parseBindAddress, type BindAddress } from '../../lib/observability/bind-address.js';
import { DEFAULT_SSH_USER } from './ssh-command.js';

export const DEFAULT_SOCKET = '/run/kvcloud/operator.sock';

const OPERATOR_OPTIONS = {
  socket: { type: 'string', default: DEFAULT_SOCKET },
  'socket-mode': { type: 'string', default: '0660' },
  'stream-address': { type: 'string', default: '127.0.0.1:0' },
  'ssh-user': { type: 'string', default: DEFAULT_SSH_USER },
} as const satisfies ParseArgsOptionsConfig;

export interface OperatorOptions {
  flags: ManagerFlags;
  /** The gRPC CRI endpoint. */
  socket: string;
  /** Who may connect: the socket file's mode. */
  socketMode: number;
  /** Where the stream URLs point (plain HTTP: the one-shot token is the authorization, as in a CRI runtime). */
  streamAddress: BindAddress;
  sshUser: string;
}

export function parseOperatorOptions(argv: string[]): OperatorOptions {
  const { flags, values, positionals } = parseManagerFlags(argv, OPERATOR_OPTIONS);
  if (positionals.length > 0) throw new Error(`unexpected arguments: ${positionals.join(' ')}`);
  const get = (name: keyof typeof OPERATOR_OPTIONS): string => values[name] as string;
  const mode = get('socket-mode');
  if (!/^0?[0-7]{3}$/.test(mode)) throw new Error(`--socket-mode: "${mode}" is not an octal file mode like 0660`);
  const streamAddress = parseBindAddress(get('stream-address'));
  if (!streamAddress) throw new Error('--stream-address: the streaming listener cannot be disabled; give host:port');
  const sshUser = get('ssh-user');
  if (sshUser === '') throw new Error('--ssh-user: give the user the cluster key logs in as');
  return { flags, socket: get('socket'), socketMode: parseInt(mode, 8), streamAddress, sshUser };
}
