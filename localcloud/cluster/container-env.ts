// A container's environment as the kubelet builds it: the image's env, then the in-cluster service variables,
// then envFrom sources, then env entries (valueFrom resolved, $(VAR) expanded against what came before), and
// finally $(VAR) expansion of command and args against the result.
import { resolveFieldRef, resolveResourceFieldRef, type PodRuntimeFacts } from './downward-api.js';
import type { ConfigMap, Container, KeySelector, Pod, Secret } from './pod-api.js';
import { expandVars } from './var-expansion.js';

/** Reads ConfigMaps and Secrets of the pod's namespace; undefined when they do not exist. */
export interface ObjectLookup {
  configMap(name: string): Promise<ConfigMap | undefined>;
  secret(name: string): Promise<Secret | undefined>;
}

/** A configuration the container cannot start with yet: the kubelet's CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

/** Names the container's shell entry can export; envFrom keys outside it are skipped as the kubelet used to. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function decodeSecretData(secret: Secret): Record<string, string> {
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

async function keyValue(kind: 'ConfigMap' | 'Secret', ref: KeySelector, pod: Pod, lookup: ObjectLookup): Promise<string | undefined> {
  const name = ref.name ?? '';
  const obj = kind === 'ConfigMap' ? await lookup.configMap(name) : await lookup.secret(name);
  if (!obj) {
    if (ref.optional) return undefined;
    throw new ContainerConfigError(`${kind.toLowerCase()} "${name}" not found`);
  }
  const data = kind === 'ConfigMap' ? (obj as ConfigMap).data : decodeSecretData(obj);
  const value = data?.[ref.key];
  if (value === undefined && !ref.optional) {
    throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind} ${pod.metadata.namespace ?? ''}/${name}`);
  }
  return value;
}

async function envFromValues(container: Container, lookup: ObjectLookup): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref) continue;
    const kind = source.configMapRef ? 'configmap' : 'secret';
    const obj = source.configMapRef ? await lookup.configMap(ref.name ?? '') : await lookup.secret(ref.name ?? '');
    if (!obj) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${kind} "${ref.name ?? ''}" not found`);
    }
    const data = source.configMapRef ? ((obj as ConfigMap).data ?? {}) : decodeSecretData(obj);
    for (const [key, value] of Object.entries(data)) {
      const name = `${source.prefix ?? ''}${key}`;
      if (ENV_NAME.test(name)) out.set(name, value);
    }
  }
  return out;
}

/**
 * The full environment of one container start. `base` holds the image env and the service variables, which
 * the container's own entries override.
 */
export async function containerEnv(
  pod: Pod,
  container: Container,
  lookup: ObjectLookup,
  facts: PodRuntimeFacts,
  base: Record<string, string>,
): Promise<Map<string, string>> {
  const env = new Map(Object.entries(base));
  for (const [k, v] of await envFromValues(container, lookup)) env.set(k, v);
  for (const entry of container.env ?? []) {
    if (!ENV_NAME.test(entry.name)) {
      throw new ContainerConfigError(`env name "${entry.name}" is not supported by the local pod runner (letters, digits and _ only)`);
    }
    const from = entry.valueFrom;
    let value: string | undefined;
    if (from?.fieldRef) value = resolveFieldRef(pod, from.fieldRef, facts);
    else if (from?.resourceFieldRef) value = resolveResourceFieldRef(pod, from.resourceFieldRef, container.name, facts);
    else if (from?.configMapKeyRef) value = await keyValue('ConfigMap', from.configMapKeyRef, pod, lookup);
    else if (from?.secretKeyRef) value = await keyValue('Secret', from.secretKeyRef, pod, lookup);
    else value = expandVars(entry.value ?? '', (name) => env.get(name));
    if (value !== undefined) env.set(entry.name, value);
  }
  return env;
}

/** command + args after $(VAR) expansion: what the image's entrypoint or the given command is run with. */
export function expandCommand(words: string[] | undefined, env: Map<string, string>): string[] | undefined {
  return words?.map((w) => expandVars(w, (name) => env.get(name)));
}
