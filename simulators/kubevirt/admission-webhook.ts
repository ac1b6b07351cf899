// virt-api's validating webhooks that shape what users observe: the eviction of a virt-launcher pod whose VMI
// wants to be moved rather than killed is refused (429, "Eviction triggered evacuation of VMI ...") after the VMI
// is marked with status.evacuationNodeName, and a VirtualMachineInstanceMigration for a VMI that cannot migrate
// is refused at creation with upstream's message. Served over HTTPS on loopback, which the apiserver shares.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem } from '../../lib/pki/x509.js';
import { POD } from '../../localcloud/cluster/pod-api.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import type { LauncherPod } from './launcher-pod.js';
import { APP_LABEL, DOMAIN_LABEL, LAUNCHER_APP } from './labels.js';
import { inFlightMigration, notMigratableMessage } from './migration.js';

export const WEBHOOK_CONFIGURATION_NAME = 'kvcloud-kubevirt-simulator';
const WEBHOOK_CONFIGURATION = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration' };
const HOST = '127.0.0.1';

interface AdmissionRequest {
  uid: string;
  name?: string;
  namespace?: string;
  dryRun?: boolean;
  object?: { spec?: { vmiName?: string } };
}

interface Verdict {
  allowed: boolean;
  status?: { code: number; message: string };
}

const allow: Verdict = { allowed: true };
const deny = (code: number, message: string): Verdict => ({ allowed: false, status: { code, message } });
const TOO_MANY_REQUESTS = 429;
const UNPROCESSABLE = 422;

export interface AdmissionWebhook {
  stop(): Promise<void>;
}

/** virt-api's PodEvictionAdmitter, over what the simulator knows. */
async function admitEviction(client: Client, req: AdmissionRequest): Promise<Verdict> {
  const pod = await client.get<LauncherPod>(POD, { namespace: req.namespace, name: req.name ?? '' }, { direct: true });
  if (pod?.metadata.labels?.[APP_LABEL] !== LAUNCHER_APP) return allow;
  const vmiName = pod.metadata.annotations?.[DOMAIN_LABEL];
  if (!vmiName) return allow;
  const vmi = await client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: req.namespace, name: vmiName }, { direct: true });
  if (!vmi) return deny(TOO_MANY_REQUESTS, `kubevirt failed getting the vmi: virtualmachineinstance "${vmiName}" not found`);
  const migratable = notMigratableMessage(vmi) === undefined;
  let mark: boolean;
  switch (vmi.spec?.evictionStrategy) {
    case 'LiveMigrate':
      if (!migratable) return deny(TOO_MANY_REQUESTS, `VMI ${vmiName} is configured with an eviction strategy but is not live-migratable`);
      mark = true;
      break;
    case 'LiveMigrateIfPossible':
      mark = migratable;
      break;
    case 'External':
      mark = true;
      break;
    default:
      return allow; // no eviction strategy: the pod is evicted and the VM goes down with it
  }
  if (!mark) return allow;
  const evacuation = `Eviction triggered evacuation of VMI "${req.namespace ?? ''}/${vmiName}"`;
  if (vmi.status?.evacuationNodeName) return deny(TOO_MANY_REQUESTS, `Evacuation in progress: ${evacuation}`);
  if (vmi.status?.nodeName !== pod.spec.nodeName) return deny(TOO_MANY_REQUESTS, 'Eviction request for target Pod');
  if (!req.dryRun) {
    await client.jsonPatch(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: req.namespace, name: vmiName }, [
      { op: 'add', path: '/status/evacuationNodeName', value: pod.spec.nodeName ?? '' },
    ]);
  }
  return deny(TOO_MANY_REQUESTS, evacuation);
}

/** virt-api's MigrationCreateAdmitter: the VMI exists, is not finished, can migrate and is not migrating. */
async function admitMigration(client: Client, req: AdmissionRequest): Promise<Verdict> {
  const vmiName = req.object?.spec?.vmiName ?? '';
  const vmi = await client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: req.namespace, name: vmiName }, { direct: true });
  if (!vmi) return deny(UNPROCESSABLE, `the VMI ${vmiName} does not exist under the cache`);
  if (vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed') return deny(UNPROCESSABLE, 'Cannot migrated VMI in finalized state.');
  const refusal = notMigratableMessage(vmi);
  if (refusal) return deny(UNPROCESSABLE, refusal);
  const active = inFlightMigration(vmi);
  if (active) return deny(UNPROCESSABLE, `in-flight migration detected. Active migration job (${active}) is currently already in progress for VMI ${vmiName}.`);
  return allow;
}

async function readBody(req: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAdmissionWebhook(client: Client, log: Logger): Promise<AdmissionWebhook> {
  const ca = await createCertificateAuthority('kvcloud-kubevirt-simulator-ca', 24 * 3_600_000);
  const serving = await issueCertificate(ca, { commonName: 'virt-api.kvcloud.local', altNames: [HOST], usage: 'server', validFor: 24 * 3_600_000 });
  const handlers: Record<string, (req: AdmissionRequest) => Promise<Verdict>> = {
    '/pod-eviction': (r) => admitEviction(client, r),
    '/migration-create': (r) => admitMigration(client, r),
  };
  const server: Server = createServer({ cert: certificatePem(serving.cert), key: await privateKeyPem(serving.key) }, (req, res) => {
    void (async () => {
      let uid = '';
      let verdict: Verdict;
      try {
        const review = JSON.parse(await readBody(req)) as { request?: AdmissionRequest };
        uid = review.request?.uid ?? '';
        // The apiserver appends ?timeout=...; the path alone names the check.
        const path = new URL(req.url ?? '/', 'https://webhook').pathname;
        const handler = handlers[path];
        verdict = handler && review.request ? await handler(review.request) : deny(400, `no admission handler at ${path}`);
      } catch (err) {
        log.error({ err, path: req.url }, 'admission review failed');
        verdict = deny(500, `kubevirt simulator admission: ${(err as Error).message}`);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...verdict } }));
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => { resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const caBundle = Buffer.from(certificatePem(ca.cert)).toString('base64');
  const webhook = (name: string, path: string, rule: object) => ({
    name,
    clientConfig: { url: `https://${HOST}:${String(port)}${path}`, caBundle },
    rules: [{ operations: ['CREATE'], scope: 'Namespaced', ...rule }],
    admissionReviewVersions: ['v1'],
    sideEffects: 'NoneOnDryRun',
    failurePolicy: 'Fail',
    timeoutSeconds: 10,
  });
  const configuration: KubeObject = {
    ...WEBHOOK_CONFIGURATION,
    metadata: { name: WEBHOOK_CONFIGURATION_NAME },
    webhooks: [
      webhook('virt-launcher-eviction-interceptor.kubevirt.io', '/pod-eviction', { apiGroups: [''], apiVersions: ['v1'], resources: ['pods/eviction'] }),
      webhook('migration-create-validator.kubevirt.io', '/migration-create', { apiGroups: ['kubevirt.io'], apiVersions: ['v1'], resources: ['virtualmachineinstancemigrations'] }),
    ],
  } as KubeObject;
  await client.apply(configuration);
  return {
    async stop() {
      await client.delete(WEBHOOK_CONFIGURATION, { name: WEBHOOK_CONFIGURATION_NAME });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
