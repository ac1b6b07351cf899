// Applying YAML manifests (CRDs, release components, test objects) to a harness cluster with server-side apply,
// CRDs and Namespaces first and CRDs waited on until Established, as `kubectl apply` users expect.
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { waitFor } from './wait.js';

const FIELD_MANAGER = 'kvcloud-harness';

export function parseManifests(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`parse manifests: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as (KubeObject & { items?: KubeObject[] }) | null;
    if (value === null) continue;
    if (value.kind?.endsWith('List') && Array.isArray(value.items)) out.push(...value.items);
    else out.push(value);
  }
  return out;
}

function describe(obj: KubeObject): string {
  const ns = obj.metadata.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj.kind ?? '?'} ${ns}${obj.metadata.name ?? '?'}`;
}

interface CRDStatus extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

const CRD_TYPE = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };

async function waitEstablished(client: Client, names: string[]): Promise<void> {
  await Promise.all(
    names.map((name) =>
      waitFor(
        async () => {
          const crd = await client.get<CRDStatus>(CRD_TYPE, { name }, { direct: true });
          const established = crd?.status?.conditions?.find((c) => c.type === 'Established');
          return established?.status === 'True' ? true : undefined;
        },
        // Seconds on a quiet machine; a cold-cache CI run once needed more than 30 for Cluster API's largest CRDs
        // (ClusterClass) while three tenants ran beside it (load 22 on 2 cores).
        { timeoutMs: 120_000, what: `CRD ${name} to be Established` },
      ),
    ),
  );
}

/**
 * Server-side applies every object. The toolkit's client sends objects exactly as written: a typed client
 * would drop fields its models spell differently (`x-kubernetes-validations` among them).
 */
export async function applyManifests(kc: KubeConfig, manifests: object[] | string): Promise<void> {
  const objects = typeof manifests === 'string' ? parseManifests(manifests) : (manifests as KubeObject[]);
  const rank = (o: KubeObject) => (o.kind === 'CustomResourceDefinition' ? 0 : o.kind === 'Namespace' ? 1 : 2);
  const ordered = [...objects].sort((a, b) => rank(a) - rank(b));
  const crds = ordered.filter((o) => rank(o) === 0);
  const transport = await RestTransport.fromKubeConfig(kc, { userAgent: FIELD_MANAGER });
  try {
    const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: FIELD_MANAGER });
    const apply = async (obj: KubeObject) => {
      try {
        const mapping = await client.mapper.mappingFor({ apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' });
        // Like kubectl, a namespaced object without a namespace goes to "default".
        const placed = mapping.namespaced && !obj.metadata.namespace ? { ...obj, metadata: { ...obj.metadata, namespace: 'default' } } : obj;
        await client.apply(placed);
      } catch (err) {
        throw new Error(`apply ${describe(obj)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    };
    await Promise.all(crds.map(apply));
    await waitEstablished(client, crds.map((o) => o.metadata.name ?? ''));
    for (const obj of ordered.slice(crds.length)) await apply(obj);
  } finally {
    transport.close();
  }
}
