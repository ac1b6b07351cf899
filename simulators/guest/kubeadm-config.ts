// The kubeadm configuration a bootstrap provider hands a machine (kubeadm.k8s.io v1beta3 or v1beta4, one or
// more YAML documents): what the guest needs to join (discovery, node registration) or to initialise a control
// plane. kubeletExtraArgs is a map in v1beta3 and a list of {name, value} in v1beta4; both are read.
import { scalarText } from './yaml-scalar.js';
import { parseAllDocuments } from 'yaml';
import type { Taint } from '../../localcloud/node-object.js';

export interface BootstrapTokenDiscovery {
  token: string;
  apiServerEndpoint: string;
  caCertHashes: string[];
  unsafeSkipCAVerification: boolean;
}

export interface NodeRegistrationSettings {
  /** nodeRegistration.name; empty means the hostname. */
  name: string | undefined;
  kubeletExtraArgs: Record<string, string>;
  /** undefined: kubeadm's default (none for a worker, the control-plane taint for a control plane). */
  taints: Taint[] | undefined;
}

export interface JoinSettings {
  bootstrapToken: BootstrapTokenDiscovery | undefined;
  /** discovery.file.kubeConfigPath. */
  discoveryFile: string | undefined;
  /** discovery.tlsBootstrapToken, the token for the CSR when it differs from discovery's. */
  tlsBootstrapToken: string | undefined;
  nodeRegistration: NodeRegistrationSettings;
  /** JoinConfiguration.controlPlane is set: joins as another control-plane member. */
  controlPlane: boolean;
}

export interface KubeadmDocuments {
  join: JoinSettings | undefined;
  /** The InitConfiguration and ClusterConfiguration, raw, for `kubeadm init`. */
  init: Record<string, unknown> | undefined;
  cluster: Record<string, unknown> | undefined;
}

const KUBEADM_GROUP = 'kubeadm.k8s.io/';

function stringMap(v: unknown): Record<string, string> {
  if (Array.isArray(v)) {
    // v1beta4: [{name, value}], later entries win as kubeadm applies them in order.
    return Object.fromEntries(
      v.flatMap((e: unknown) => {
        const { name, value } = (e ?? {}) as { name?: unknown; value?: unknown };
        return typeof name === 'string' ? [[name, scalarText(value)]] : [];
      }),
    );
  }
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, val]) => [k, scalarText(val)]));
  return {};
}

function taintsOf(v: unknown): Taint[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new Error('nodeRegistration.taints is not a list');
  return v.map((t: unknown) => {
    const { key, value, effect } = (t ?? {}) as { key?: unknown; value?: unknown; effect?: unknown };
    if (typeof key !== 'string' || (effect !== 'NoSchedule' && effect !== 'PreferNoSchedule' && effect !== 'NoExecute')) {
      throw new Error(`nodeRegistration.taints: ${JSON.stringify(t)} needs a key and effect NoSchedule|PreferNoSchedule|NoExecute`);
    }
    return { key, ...(typeof value === 'string' && value !== '' ? { value } : {}), effect };
  });
}

function nodeRegistrationOf(doc: Record<string, unknown>): NodeRegistrationSettings {
  const reg = (doc.nodeRegistration ?? {}) as { name?: unknown; kubeletExtraArgs?: unknown; taints?: unknown };
  return {
    name: typeof reg.name === 'string' && reg.name !== '' ? reg.name : undefined,
    kubeletExtraArgs: stringMap(reg.kubeletExtraArgs),
    taints: taintsOf(reg.taints),
  };
}

function joinOf(doc: Record<string, unknown>): JoinSettings {
  const discovery = (doc.discovery ?? {}) as {
    bootstrapToken?: { token?: unknown; apiServerEndpoint?: unknown; caCertHashes?: unknown; unsafeSkipCAVerification?: unknown };
    file?: { kubeConfigPath?: unknown };
    tlsBootstrapToken?: unknown;
  };
  const bt = discovery.bootstrapToken;
  let bootstrapToken: BootstrapTokenDiscovery | undefined;
  if (bt) {
    if (typeof bt.token !== 'string' || typeof bt.apiServerEndpoint !== 'string') {
      throw new Error('JoinConfiguration discovery.bootstrapToken needs token and apiServerEndpoint');
    }
    bootstrapToken = {
      token: bt.token,
      apiServerEndpoint: bt.apiServerEndpoint,
      caCertHashes: Array.isArray(bt.caCertHashes) ? bt.caCertHashes.filter((h): h is string => typeof h === 'string') : [],
      unsafeSkipCAVerification: bt.unsafeSkipCAVerification === true,
    };
  }
  const discoveryFile = typeof discovery.file?.kubeConfigPath === 'string' ? discovery.file.kubeConfigPath : undefined;
  if (!bootstrapToken && !discoveryFile) throw new Error('JoinConfiguration has neither discovery.bootstrapToken nor discovery.file');
  return {
    bootstrapToken,
    discoveryFile,
    tlsBootstrapToken: typeof discovery.tlsBootstrapToken === 'string' && discovery.tlsBootstrapToken !== '' ? discovery.tlsBootstrapToken : undefined,
    nodeRegistration: nodeRegistrationOf(doc),
    controlPlane: doc.controlPlane !== undefined && doc.controlPlane !== null,
  };
}

export function parseKubeadmConfig(text: string): KubeadmDocuments {
  const out: KubeadmDocuments = { join: undefined, init: undefined, cluster: undefined };
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) throw new Error(`kubeadm config: ${d.errors[0]?.message ?? 'invalid YAML'}`);
    const doc = d.toJS() as Record<string, unknown> | null;
    if (!doc) continue;
    const apiVersion = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
    if (!apiVersion.startsWith(KUBEADM_GROUP)) continue;
    if (doc.kind === 'JoinConfiguration') out.join = joinOf(doc);
    else if (doc.kind === 'InitConfiguration') out.init = doc;
    else if (doc.kind === 'ClusterConfiguration') out.cluster = doc;
  }
  return out;
}

/** --node-labels "a=b,c=d". */
export function parseNodeLabels(flag: string | undefined): Record<string, string> {
  if (!flag) return {};
  return Object.fromEntries(
    flag
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const eq = p.indexOf('=');
        return eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
      }),
  );
}

/** --register-with-taints "key=value:Effect,key:Effect". */
export function parseTaintsFlag(flag: string | undefined): Taint[] {
  if (!flag) return [];
  return flag
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const colon = p.lastIndexOf(':');
      const effect = p.slice(colon + 1);
      if (colon < 0 || (effect !== 'NoSchedule' && effect !== 'PreferNoSchedule' && effect !== 'NoExecute')) {
        throw new Error(`--register-with-taints: "${p}" is not key[=value]:NoSchedule|PreferNoSchedule|NoExecute`);
      }
      const [key = '', value] = p.slice(0, colon).split('=');
      return { key, ...(value ? { value } : {}), effect };
    });
}
