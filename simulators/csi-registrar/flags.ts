// node-driver-registrar's command line, as upstream's DaemonSets give it (kubevirt/csi-driver's: --csi-address and
// --kubelet-registration-path, often --v). A flag the stand-in does not implement is refused by name, never ignored.
import { parseArgs } from 'node:util';
import { parseDuration } from '../../lib/controller/manager-flags.js';
import type { LogLevel } from '../../lib/observability/logger.js';

export interface RegistrarFlags {
  /** The CSI driver's socket, as the container sees it. */
  csiAddress: string;
  /** The same socket as the kubelet sees it on the node: what the kubelet is told to dial. */
  kubeletRegistrationPath: string;
  /** The kubelet's plugins_registry as the container sees it. */
  pluginRegistrationPath: string;
  /** Deadline of each GetPluginInfo call. */
  timeoutMs: number;
  logLevel: LogLevel;
}

// Upstream's health and profiling endpoints: nothing in the local cloud probes them.
const UNSUPPORTED = ['http-endpoint', 'health-port', 'mode', 'enable-pprof'];

export function parseRegistrarFlags(argv: string[]): RegistrarFlags {
  for (const arg of argv) {
    const name = /^--?([^=]+)/.exec(arg)?.[1];
    if (name && UNSUPPORTED.includes(name)) throw new Error(`--${name}: the local cloud's node-driver-registrar stand-in does not offer it`);
  }
  const s = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    options: { 'csi-address': s, 'kubelet-registration-path': s, 'plugin-registration-path': s, timeout: s, v: s },
    strict: true,
  });
  const kubeletRegistrationPath = values['kubelet-registration-path'];
  if (!kubeletRegistrationPath) throw new Error('--kubelet-registration-path is required: the CSI socket\'s path on the node, which the kubelet dials');
  const verbosity = Number(values.v ?? '0');
  if (!Number.isInteger(verbosity) || verbosity < 0) throw new Error(`--v: "${values.v ?? ''}" is not a verbosity level`);
  return {
    csiAddress: (values['csi-address'] ?? '/run/csi/socket').replace(/^unix:\/\//, ''),
    kubeletRegistrationPath,
    pluginRegistrationPath: values['plugin-registration-path'] ?? '/registration',
    timeoutMs: parseDuration(values.timeout ?? '1s', 'timeout'),
    // klog's V(5) is where the sidecars log each call: debug here.
    logLevel: verbosity >= 5 ? 'debug' : 'info',
  };
}
