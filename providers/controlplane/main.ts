// The control plane operator (image ghcr.io/kvcloud/controlplane-manager): TenantControlPlane and DataStore
// controllers with the common manager flags, plus Kamaji's --datastore default, the data deletion policy and
// --certificate-expiration-deadline (Kamaji's name): how long before expiry a leaf certificate or kubeconfig renews,
// and --ca-rotation-soak: the least time a rotated CA's predecessor stays trusted once every node has moved on;
// --management-pod-cidr and --management-service-cidr (comma-separated) name the management cluster's own ranges,
// which tenants are refused to overlap (their worker VMs are pods on that network).
import { Manager } from '../../lib/controller/manager.js';
import { parseCIDR } from '../../lib/net/ip.js';
import { parseDuration, parseManagerFlags } from '../../lib/controller/manager-flags.js';
import { setupControlPlaneControllers } from './controllers/setup.js';
import { DEFAULT_PKI_OPTIONS, parseExpirationDeadline } from './pki/options.js';

const { flags, values } = parseManagerFlags(process.argv.slice(2), {
  datastore: { type: 'string' },
  'datastore-data-on-delete': { type: 'string', default: 'Delete' },
  'certificate-expiration-deadline': { type: 'string', default: '720h' },
  'ca-rotation-soak': { type: 'string', default: '1h' },
  'kubeconfig-client-cert-validity': { type: 'string', default: '24h' },
  'management-pod-cidr': { type: 'string', default: '' },
  'management-service-cidr': { type: 'string', default: '' },
});
function cidrList(flag: string): string[] {
  const cidrs = String(values[flag])
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  const bad = cidrs.find((c) => parseCIDR(c) === undefined);
  if (bad !== undefined) throw new Error(`--${flag}: "${bad}" is not a CIDR`);
  return cidrs;
}
const onDelete = String(values['datastore-data-on-delete']);
if (onDelete !== 'Delete' && onDelete !== 'Retain') {
  throw new Error(`--datastore-data-on-delete: "${onDelete}" must be Delete or Retain`);
}

const manager = await Manager.create({ component: 'controlplane-manager', flags });
setupControlPlaneControllers(manager, {
  defaultDataStore: values.datastore as string | undefined,
  deleteDataOnRemoval: onDelete === 'Delete',
  pki: {
    ...DEFAULT_PKI_OPTIONS,
    rotationThreshold: parseExpirationDeadline(String(values['certificate-expiration-deadline'])),
    caRotationSoak: parseDuration(String(values['ca-rotation-soak']), 'ca-rotation-soak'),
  },
  // The KamajiControlPlane's <cluster>-kubeconfig for Cluster API: short-lived, re-issued with a third left.
  kubeconfigValidityMs: parseDuration(String(values['kubeconfig-client-cert-validity']), 'kubeconfig-client-cert-validity'),
  managementRanges: { podCIDRs: cidrList('management-pod-cidr'), serviceCIDRs: cidrList('management-service-cidr') },
});
await manager.runUntilSignal();
