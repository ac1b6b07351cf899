// Approves the kubelets' serving certificates inside each tenant. kube-controller-manager signs
// kubernetes.io/kubelet-serving CSRs but approves only kubelet client certificates, so without an approver every
// kubelet keeps its self-signed certificate. A serving CSR is approved only when it can come from no one but the
// node it names, and asks for nothing that node does not own; anything else stays pending, with a log line saying why.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { Logger } from 'pino';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { canonicalIP } from '../../../lib/net/ip.js';

export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
const NODE_USER_PREFIX = 'system:node:';
const NODES_GROUP = 'system:nodes';
const CSR_TYPE = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest' } as const;
const NODE_TYPE = { apiVersion: 'v1', kind: 'Node' } as const;
/** Usages a serving certificate must have, and the one it may add (RSA keys encipher; ECDSA keys only sign). */
const REQUIRED_USAGES = ['digital signature', 'server auth'];
const OPTIONAL_USAGES = ['key encipherment'];
const DNS_ADDRESS_TYPES = new Set(['Hostname', 'InternalDNS', 'ExternalDNS']);
const SAN_OID = '2.5.29.17';
const IP_ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP']);

export interface CertificateSigningRequest extends KubeObject {
  spec: { request: string; signerName: string; usages?: string[]; username?: string; groups?: string[] };
  status?: { certificate?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface TenantNode extends KubeObject {
  status?: { addresses?: { type: string; address: string }[] };
}

export type ServingDecision = { approve: true; node: string } | { approve: false; reason: string };

/** A CSR someone already decided on (approved, denied or failed) is no longer ours to look at. */
export function isDecided(csr: CertificateSigningRequest): boolean {
  return (csr.status?.conditions ?? []).some((c) => ['Approved', 'Denied', 'Failed'].includes(c.type));
}

/** The node a serving CSR is for, judged by who sent it; undefined for other signers or non-node requesters. */
export function requestingNode(csr: CertificateSigningRequest): string | undefined {
  if (csr.spec.signerName !== KUBELET_SERVING_SIGNER) return undefined;
  const user = csr.spec.username ?? '';
  return user.startsWith(NODE_USER_PREFIX) && user.length > NODE_USER_PREFIX.length ? user.slice(NODE_USER_PREFIX.length) : undefined;
}

interface ParsedRequest {
  commonName: string[];
  organizations: string[];
  otherSubject: string[];
  dns: string[];
  ips: string[];
  other: string[];
}

function parseRequest(base64: string): ParsedRequest {
  const req = new x509.Pkcs10CertificateRequest(Buffer.from(base64, 'base64').toString());
  const parsed: ParsedRequest = { commonName: [], organizations: [], otherSubject: [], dns: [], ips: [], other: [] };
  for (const rdn of req.subjectName.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) {
      if (type === 'CN') parsed.commonName.push(...values);
      else if (type === 'O') parsed.organizations.push(...values);
      else parsed.otherSubject.push(type);
    }
  }
  // Looked up by OID: the class lookup misses extensions a PKCS#10 request carries in its attributes.
  const raw = req.extensions.find((e) => e.type === SAN_OID);
  const san = raw ? new x509.SubjectAlternativeNameExtension(raw.rawData) : undefined;
  for (const name of san?.names.items ?? []) {
    if (name.type === 'dns') parsed.dns.push(name.value);
    else if (name.type === 'ip') parsed.ips.push(name.value);
    else parsed.other.push(`${name.type}:${name.value}`);
  }
  return parsed;
}

/**
 * Whether a pending kubelet-serving CSR may be approved: sent by system:node:<name> in system:nodes, for a Node
 * that exists, with the subject that identity gets, exactly the serving usages, and alternative names that are
 * only the addresses and host names the Node itself reports.
 */
export function decideServingCSR(csr: CertificateSigningRequest, node: TenantNode | undefined): ServingDecision {
  const name = requestingNode(csr);
  if (!name) return { approve: false, reason: `requester ${csr.spec.username ?? '(none)'} is not a node` };
  if (!(csr.spec.groups ?? []).includes(NODES_GROUP)) return { approve: false, reason: `requester ${csr.spec.username ?? ''} is not in group ${NODES_GROUP}` };
  const usages = csr.spec.usages ?? [];
  const missing = REQUIRED_USAGES.filter((u) => !usages.includes(u));
  const extra = usages.filter((u) => !REQUIRED_USAGES.includes(u) && !OPTIONAL_USAGES.includes(u));
  if (missing.length > 0 || extra.length > 0 || new Set(usages).size !== usages.length) {
    return { approve: false, reason: `usages ${JSON.stringify(usages)} are not ${REQUIRED_USAGES.join(' + ')} (optionally with key encipherment)` };
  }
  if (!node) return { approve: false, reason: `Node ${name} does not exist` };
  let req: ParsedRequest;
  try {
    req = parseRequest(csr.spec.request);
  } catch (err) {
    return { approve: false, reason: `the request does not parse: ${(err as Error).message}` };
  }
  const user = `${NODE_USER_PREFIX}${name}`;
  if (req.commonName.length !== 1 || req.commonName[0] !== user) return { approve: false, reason: `subject CN ${JSON.stringify(req.commonName)} is not ${user}` };
  if (req.organizations.length !== 1 || req.organizations[0] !== NODES_GROUP) return { approve: false, reason: `subject O ${JSON.stringify(req.organizations)} is not ${NODES_GROUP}` };
  if (req.otherSubject.length > 0) return { approve: false, reason: `subject has fields besides CN and O: ${req.otherSubject.join(', ')}` };
  if (req.other.length > 0) return { approve: false, reason: `alternative names of other types than DNS and IP: ${req.other.join(', ')}` };
  if (req.dns.length + req.ips.length === 0) return { approve: false, reason: 'the request names no DNS name or IP address' };
  const addresses = node.status?.addresses ?? [];
  const hostNames = new Set(addresses.filter((a) => DNS_ADDRESS_TYPES.has(a.type)).map((a) => a.address.toLowerCase()));
  const ips = new Set(addresses.filter((a) => IP_ADDRESS_TYPES.has(a.type)).map((a) => canonicalIP(a.address)));
  const foreignDNS = req.dns.filter((d) => !hostNames.has(d.toLowerCase()));
  if (foreignDNS.length > 0) return { approve: false, reason: `DNS names ${foreignDNS.join(', ')} are not host names Node ${name} reports` };
  const foreignIPs = req.ips.filter((ip) => {
    const canonical = canonicalIP(ip);
    return canonical === undefined || !ips.has(canonical);
  });
  if (foreignIPs.length > 0) return { approve: false, reason: `IP addresses ${foreignIPs.join(', ')} are not addresses Node ${name} reports` };
  return { approve: true, node: name };
}

/** The CSR with an Approved condition added, as the approval subresource takes it. */
export function withApproval(csr: CertificateSigningRequest): CertificateSigningRequest {
  const condition = {
    type: 'Approved',
    status: 'True',
    reason: 'KvcloudServingApproved',
    message: `kvcloud approved the serving certificate of Node ${requestingNode(csr) ?? ''}: requester, usages and SANs match the Node`,
  };
  return { ...csr, status: { ...csr.status, conditions: [...(csr.status?.conditions ?? []), condition] } };
}

/**
 * Watches the serving CSRs and the Nodes of each tenant and approves what decideServingCSR allows. A CSR sent
 * before its Node registered, or before the Node reported its addresses, is looked at again when the Node changes.
 */
export class ServingCertificateApprover {
  /** Connections already watched; a rebuilt connection (rotated kubeconfig) is a new object, watched anew. */
  private readonly watched = new WeakSet<RemoteCluster>();
  /** Per CSR uid, the reason it was last left pending, so each reason is logged once and not on every resync. */
  private readonly pending = new Map<string, string>();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly opts: { retryMs?: number } = {},
  ) {}

  /** Starts approving in `tenant`; `key` (namespace/name of the TenantControlPlane) labels the log lines. */
  async ensure(tenant: RemoteCluster, key: string): Promise<void> {
    if (this.watched.has(tenant)) return;
    this.watched.add(tenant);
    const log = this.log.child({ tenantControlPlane: key });
    try {
      const csrs = await tenant.cache.informerFor<CertificateSigningRequest>(CSR_TYPE);
      const nodes = await tenant.cache.informerFor<TenantNode>(NODE_TYPE);
      const consider = (csr: CertificateSigningRequest): void => {
        void this.consider(tenant, csr, nodes.store.get(requestingNode(csr) ?? ''), log, retry);
      };
      // Informers here have no periodic resync, so a failed approval is tried again on a timer.
      const retry = (name: string): void => {
        setTimeout(() => {
          const latest = csrs.store.get(name);
          if (latest) consider(latest);
        }, this.opts.retryMs ?? 5_000).unref();
      };
      csrs.addEventHandler({
        onAdd: consider,
        onUpdate: (_old, csr) => {
          consider(csr);
        },
        onDelete: (csr) => this.pending.delete(csr.metadata.uid ?? ''),
      });
      const forNode = (node: TenantNode): void => {
        for (const csr of csrs.store.list()) if (requestingNode(csr) === node.metadata.name) consider(csr);
      };
      nodes.addEventHandler({ onAdd: forNode, onUpdate: (_old, node) => { forNode(node); } });
    } catch (err) {
      this.watched.delete(tenant);
      throw new Error(`watch serving CSRs in the tenant: ${(err as Error).message}`, { cause: err });
    }
  }

  private async consider(
    tenant: RemoteCluster,
    csr: CertificateSigningRequest,
    node: TenantNode | undefined,
    log: Logger,
    retry: (name: string) => void,
  ): Promise<void> {
    const uid = csr.metadata.uid ?? '';
    if (csr.spec.signerName !== KUBELET_SERVING_SIGNER || isDecided(csr) || this.inFlight.has(uid)) return;
    const decision = decideServingCSR(csr, node);
    if (!decision.approve) {
      if (this.pending.get(uid) !== decision.reason) log.info({ csr: csr.metadata.name, reason: decision.reason }, 'left serving CSR pending');
      this.pending.set(uid, decision.reason);
      return;
    }
    this.inFlight.add(uid);
    try {
      await tenant.client.update(withApproval(csr), { subresource: 'approval' });
      this.pending.delete(uid);
      log.info({ csr: csr.metadata.name, node: decision.node }, 'approved serving CSR');
    } catch (err) {
      log.warn({ csr: csr.metadata.name, err: (err as Error).message }, 'failed to approve serving CSR');
      retry(csr.metadata.name ?? '');
    } finally {
      this.inFlight.delete(uid);
    }
  }
}
