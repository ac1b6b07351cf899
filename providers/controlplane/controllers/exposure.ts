// Optional exposure of the tenant apiserver besides its Service: an Ingress (controlPlane.ingress) or a Gateway
// API TLSRoute (controlPlane.gateway), created only when the spec asks and the cluster serves the kind; when it
// does not, a condition and an Event say so instead of failing the whole reconcile. Both route to the Service's
// apiserver port with TLS passed through, since clients authenticate with certificates.
import { getCondition, markFalse, markTrue, removeCondition } from '../../../lib/controller/conditions.js';
import { controllerOf, setControllerReference } from '../../../lib/controller/owner-references.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import type { TenantControlPlane } from '../api/index.js';
import { ingressName, selectorLabels, serviceName, tlsRouteName } from '../management/names.js';
import { apiServerPort } from '../management/network.js';
import { applyIfChanged } from '../../../lib/kube/applied-hash.js';

export const EXPOSED_CONDITION = 'ExposedByRoute';
const INGRESS = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' };
export const TLS_ROUTE = { apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TLSRoute' };

function hostnameOf(tcp: TenantControlPlane, requested: string | undefined): string {
  return requested ?? `${tcp.metadata.name ?? ''}.${tcp.metadata.namespace ?? ''}.${tcp.spec.networkProfile?.clusterDomain ?? 'cluster.local'}`;
}

export function buildIngress(tcp: TenantControlPlane): KubeObject & Record<string, unknown> {
  const spec = tcp.spec.controlPlane.ingress ?? {};
  const name = tcp.metadata.name ?? '';
  return {
    ...INGRESS,
    metadata: {
      name: ingressName(name),
      namespace: tcp.metadata.namespace,
      labels: { ...spec.additionalMetadata?.labels, ...selectorLabels(name) },
      ...(spec.additionalMetadata?.annotations ? { annotations: spec.additionalMetadata.annotations } : {}),
    },
    spec: {
      ...(spec.ingressClassName ? { ingressClassName: spec.ingressClassName } : {}),
      rules: [
        {
          host: hostnameOf(tcp, spec.hostname),
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: serviceName(name), port: { number: apiServerPort(tcp.spec.networkProfile) } } } }],
          },
        },
      ],
    },
  };
}

export function buildTLSRoute(tcp: TenantControlPlane): KubeObject & Record<string, unknown> {
  const spec = tcp.spec.controlPlane.gateway ?? {};
  const name = tcp.metadata.name ?? '';
  return {
    ...TLS_ROUTE,
    metadata: {
      name: tlsRouteName(name),
      namespace: tcp.metadata.namespace,
      labels: { ...spec.additionalMetadata?.labels, ...selectorLabels(name) },
      ...(spec.additionalMetadata?.annotations ? { annotations: spec.additionalMetadata.annotations } : {}),
    },
    spec: {
      parentRefs: spec.parentRefs ?? [],
      hostnames: [hostnameOf(tcp, spec.hostname)],
      rules: [{ backendRefs: [{ name: serviceName(name), port: apiServerPort(tcp.spec.networkProfile) }] }],
    },
  };
}

// The condition's reason names the kind we created, so a route the spec no longer asks for is found (and
// deleted) from our own status, without reading both kinds on every pass.
const createdReason = (type: { kind: string }): string => `${type.kind}Created`;

async function deleteUnwanted(client: Client, tcp: TenantControlPlane, wanted: { kind: string } | undefined): Promise<void> {
  const previous = getCondition(tcp, EXPOSED_CONDITION)?.reason;
  for (const type of [INGRESS, TLS_ROUTE]) {
    if (type.kind === wanted?.kind || previous !== createdReason(type)) continue;
    const ref = { namespace: tcp.metadata.namespace ?? '', name: type === INGRESS ? ingressName(tcp.metadata.name ?? '') : tlsRouteName(tcp.metadata.name ?? '') };
    const live = await client.get(type, ref, { metadataOnly: true });
    // Only ours: a user's object that happens to carry the name stays.
    if (live && controllerOf(live)?.uid === tcp.metadata.uid) await client.delete(type, ref);
  }
}

export async function exposeThroughIngressOrGateway(client: Client, tcp: TenantControlPlane, ctx: ReconcileContext): Promise<void> {
  const wanted = tcp.spec.controlPlane.ingress ? { type: INGRESS, build: buildIngress } : tcp.spec.controlPlane.gateway ? { type: TLS_ROUTE, build: buildTLSRoute } : undefined;
  await deleteUnwanted(client, tcp, wanted?.type);
  if (!wanted) {
    removeCondition(tcp, EXPOSED_CONDITION);
    return;
  }
  if (!(await client.mapper.isServed(wanted.type))) {
    const message = `${wanted.type.kind} (${wanted.type.apiVersion}) is not served by this cluster; install its CRDs to expose the apiserver through it`;
    if (markFalse(tcp, EXPOSED_CONDITION, 'RouteKindNotInstalled', message)) ctx.events.warning('RouteKindNotInstalled', 'Expose', message);
    return;
  }
  const obj = wanted.build(tcp);
  setControllerReference(obj, tcp);
  await applyIfChanged(client, obj);
  markTrue(tcp, EXPOSED_CONDITION, createdReason(wanted.type), `${wanted.type.kind} ${obj.metadata.name ?? ''}`);
}
