import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { ApiError } from '../../lib/kube/api-error.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem } from '../../lib/pki/x509.js';
import { RpcError } from './cloud-provider.js';
import { Env, machine, machineDeployment, machineTemplate, NS } from './env.testdata.js';
import { cloudProviderClient, decodeNode } from './externalgrpc/protos.js';
import { startServer, statusOf, type RunningServer, type ServerTLS } from './server.js';

const GROUP = `MachineDeployment/${NS}/workers`;
type Call = (method: string, request: object) => Promise<Record<string, unknown>>;

/** A client of the pinned proto, as cluster-autoscaler dials: the CA it trusts, its own certificate (or none). */
function dial(port: number, tls: { ca: string; cert?: string; key?: string }): { call: Call; close: () => void } {
  const Client = cloudProviderClient();
  const credentials = grpc.credentials.createSsl(Buffer.from(tls.ca), tls.key ? Buffer.from(tls.key) : null, tls.cert ? Buffer.from(tls.cert) : null);
  // Node refuses an IP address as TLS server name: present the name the serving certificate also carries.
  const client = new Client(`127.0.0.1:${String(port)}`, credentials, { 'grpc.ssl_target_name_override': 'kvcloud-autoscaler', 'grpc.use_local_subchannel_pool': 1 }) as grpc.Client & Record<string, (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void) => void>;
  const call: Call = (method, request) =>
    new Promise((resolve, reject) => {
      const fn = client[method];
      if (!fn) throw new Error(`no method ${method}`);
      fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, res) => {
        if (err) reject(err);
        else resolve(res ?? {});
      });
    });
  return { call, close: () => { client.close(); } };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return grpc.status[(err as grpc.ServiceError).code];
  }
}

/** Writes the PEMs as a mounted Secret holds them, each file replaced whole (rename), as the kubelet swaps them. */
async function writeTLSFiles(dir: string, pem: { ca: string; cert: string; key: string }): Promise<ServerTLS & { refreshMs: number }> {
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), clientCAFile: join(dir, 'ca.crt') };
  await mkdir(dir, { recursive: true });
  for (const [file, text] of [[files.certFile, pem.cert], [files.keyFile, pem.key], [files.clientCAFile, pem.ca]] as const) {
    await writeFile(`${file}.new`, text);
    await rename(`${file}.new`, file);
  }
  return { ...files, refreshMs: 100 };
}

/** A CA with a serving certificate for the name dial() presents and a client certificate, as PEM. */
async function authorityWithCertificates(name: string): Promise<{ ca: string; serving: { cert: string; key: string }; client: { cert: string; key: string } }> {
  const authority = await createCertificateAuthority(name, 3_600_000);
  const serving = await issueCertificate(authority, { commonName: 'kvcloud-autoscaler', altNames: ['kvcloud-autoscaler', '127.0.0.1'], usage: 'server', validFor: 3_600_000 });
  const client = await issueCertificate(authority, { commonName: 'cluster-autoscaler', usage: 'client', validFor: 3_600_000 });
  return {
    ca: certificatePem(authority.cert),
    serving: { cert: certificatePem(serving.cert), key: await privateKeyPem(serving.key) },
    client: { cert: certificatePem(client.cert), key: await privateKeyPem(client.key) },
  };
}

describe('providers/autoscaler/server', function () {
  this.timeout(20_000);
  let env: Env;
  let server: RunningServer;
  let ca: string;
  let clientCert: { cert: string; key: string };
  let client: { call: Call; close: () => void };
  let certDir: string;

  before(async () => {
    const authority = await createCertificateAuthority('externalgrpc-ca', 3_600_000);
    const serving = await issueCertificate(authority, { commonName: 'kvcloud-autoscaler', altNames: ['kvcloud-autoscaler', '127.0.0.1'], usage: 'server', validFor: 3_600_000 });
    const autoscaler = await issueCertificate(authority, { commonName: 'cluster-autoscaler', usage: 'client', validFor: 3_600_000 });
    ca = certificatePem(authority.cert);
    clientCert = { cert: certificatePem(autoscaler.cert), key: await privateKeyPem(autoscaler.key) };
    env = new Env();
    await env.seed(
      machineDeployment('workers', { replicas: 1, min: '0', max: '2' }),
      machine('workers-a', 'workers', { providerID: 'kubevirt://workers-a', node: 'workers-a' }),
      machineTemplate('workers-template', { cpu: '2', memory: '4Gi' }, ['nvidia.com/T4']),
    );
    certDir = await mkdtemp(join(tmpdir(), 'autoscaler-server-'));
    server = await startServer({
      address: '127.0.0.1:0',
      tls: await writeTLSFiles(join(certDir, 'main'), { ca, cert: certificatePem(serving.cert), key: await privateKeyPem(serving.key) }),
      provider: env.provider,
      metrics: env.metrics,
      log: env.log,
    });
    client = dial(server.port, { ca, ...clientCert });
  });
  after(async () => {
    client.close();
    await server.stop();
    await env.close();
    await rm(certDir, { recursive: true, force: true });
  });

  it('answers every RPC of the protocol over mutual TLS', async () => {
    const { call } = client;
    const groups = (await call('NodeGroups', {})).nodeGroups as { id: string; minSize: number; maxSize: number }[];
    expect(groups.map((g) => [g.id, g.minSize, g.maxSize])).to.deep.equal([[GROUP, 0, 2]]);
    expect(((await call('NodeGroupForNode', { node: { providerID: 'kubevirt://workers-a', name: 'workers-a' } })).nodeGroup as { id: string }).id).to.equal(GROUP);
    expect(((await call('NodeGroupForNode', { node: { providerID: 'kubevirt://other', name: 'other' } })).nodeGroup as { id: string }).id).to.equal('');
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).to.equal(1);
    await call('NodeGroupIncreaseSize', { id: GROUP, delta: 1 });
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).to.equal(2);
    await call('NodeGroupDecreaseTargetSize', { id: GROUP, delta: -1 });
    await call('NodeGroupDeleteNodes', { id: GROUP, nodes: [{ providerID: 'kubevirt://workers-a', name: 'workers-a' }] });
    expect(env.md('workers')?.spec?.replicas).to.equal(0);
    const instances = (await call('NodeGroupNodes', { id: GROUP })).instances as { id: string; status: { instanceState: string } }[];
    expect(instances.map((i) => [i.id, i.status.instanceState])).to.deep.equal([['kubevirt://workers-a', 'instanceRunning']]);
    const node = decodeNode((await call('NodeGroupTemplateNodeInfo', { id: GROUP })).nodeBytes as Buffer) as { status: { capacity: Record<string, { string: string }> } };
    expect(node.status.capacity.memory?.string).to.equal('4Gi');
    const options = (await call('NodeGroupGetOptions', { id: GROUP, defaults: { scaleDownUtilizationThreshold: 0.5, scaleDownUnneededDuration: { seconds: 600, nanos: 0 } } })).nodeGroupAutoscalingOptions as Record<string, unknown>;
    expect(options.scaleDownUtilizationThreshold).to.equal(0.5);
    expect(options.scaleDownUnneededDuration).to.deep.equal({ seconds: 600, nanos: 0 });
    expect((await call('GPULabel', {})).label).to.equal('cluster-api/accelerator');
    expect(Object.keys((await call('GetAvailableGPUTypes', {})).gpuTypes as object)).to.deep.equal(['T4']);
    expect(await call('Refresh', {})).to.deep.equal({});
    expect(await call('Cleanup', {})).to.deep.equal({});
  });

  it('answers with the codes cluster-autoscaler acts on', async () => {
    const { call } = client;
    expect(await codeOf(call('NodeGroupTargetSize', { id: `MachineDeployment/${NS}/nope` }))).to.equal('NOT_FOUND');
    expect(await codeOf(call('NodeGroupTargetSize', {}))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(call('NodeGroupIncreaseSize', { id: GROUP, delta: 0 }))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(call('NodeGroupIncreaseSize', { id: GROUP, delta: 3 }))).to.equal('OUT_OF_RANGE');
    expect(await codeOf(call('NodeGroupDeleteNodes', { id: GROUP, nodes: [] }))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(call('NodeGroupForNode', {}))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(call('PricingNodePrice', {}))).to.equal('UNIMPLEMENTED');
    expect(await codeOf(call('PricingPodPrice', {}))).to.equal('UNIMPLEMENTED');
    const counted = (await env.registry.getMetricsAsJSON()).find((m) => m.name === 'kvcloud_autoscaler_grpc_requests_total')?.values ?? [];
    expect(counted.find((v) => v.labels.method === 'NodeGroupTargetSize' && v.labels.code === 'NOT_FOUND')?.value).to.equal(1);
  });

  it('refuses a client without a certificate from the trusted CA', async () => {
    const stranger = await createCertificateAuthority('someone-else', 3_600_000);
    const foreign = await issueCertificate(stranger, { commonName: 'cluster-autoscaler', usage: 'client', validFor: 3_600_000 });
    for (const tls of [{ ca }, { ca, cert: certificatePem(foreign.cert), key: await privateKeyPem(foreign.key) }]) {
      const refused = dial(server.port, tls);
      try {
        expect(await codeOf(refused.call('NodeGroups', {})), tls.cert ? 'a certificate of another CA' : 'no certificate').to.equal('UNAVAILABLE');
      } finally {
        refused.close();
      }
    }
    expect(await codeOf(client.call('NodeGroups', {})), 'the same server, with the right certificate').to.equal('OK');
  });

  it('serves a renewed certificate and trusts a rotated CA without a restart, as cert-manager rewrites the Secret', async function () {
    this.timeout(60_000);
    const before = await authorityWithCertificates('autoscaler-ca-1');
    const dir = join(certDir, 'rotated');
    const rotating = await startServer({ address: '127.0.0.1:0', tls: await writeTLSFiles(dir, { ca: before.ca, ...before.serving }), provider: env.provider, metrics: env.metrics, log: env.log });
    const attempt = async (pki: { ca: string; client: { cert: string; key: string } }): Promise<string> => {
      const c = dial(rotating.port, { ca: pki.ca, ...pki.client });
      try {
        return await codeOf(c.call('GPULabel', {}));
      } finally {
        c.close();
      }
    };
    // The files are read in the background, first right after the server binds: poll, a loaded machine is slow.
    const eventuallyOK = async (pki: { ca: string; client: { cert: string; key: string } }): Promise<string> => {
      let code = '';
      for (const deadline = Date.now() + 15_000; Date.now() < deadline && code !== 'OK'; await new Promise((r) => setTimeout(r, 100))) code = await attempt(pki);
      return code;
    };
    try {
      expect(await eventuallyOK(before), 'before the rotation').to.equal('OK');
      const after = await authorityWithCertificates('autoscaler-ca-2');
      await writeTLSFiles(dir, { ca: after.ca, ...after.serving });
      expect(await eventuallyOK(after), 'a client of the new CA, trusting the new serving certificate').to.equal('OK');
      expect(await attempt(before), 'a client of the old CA').to.equal('UNAVAILABLE');
    } finally {
      await rotating.stop();
    }
  });

  it('maps apiserver failures to retryable or precise codes, never a blanket INTERNAL for known ones', () => {
    const api = (code: number) => new ApiError(code, 'PATCH', '/x', { code });
    expect(grpc.status[statusOf(new RpcError(grpc.status.OUT_OF_RANGE, 'x'))]).to.equal('OUT_OF_RANGE');
    expect(grpc.status[statusOf(api(409))]).to.equal('ABORTED');
    expect(grpc.status[statusOf(api(404))]).to.equal('NOT_FOUND');
    expect(grpc.status[statusOf(api(503))]).to.equal('UNAVAILABLE');
    expect(grpc.status[statusOf(api(429))]).to.equal('UNAVAILABLE');
    expect(grpc.status[statusOf(new Error('wrapped', { cause: api(500) }))]).to.equal('UNAVAILABLE');
    expect(grpc.status[statusOf(api(403))]).to.equal('INTERNAL');
    expect(grpc.status[statusOf(new Error('bug'))]).to.equal('INTERNAL');
  });

  it('serves plaintext when given no TLS, for local tools', async () => {
    const plain = await startServer({ address: '127.0.0.1:0', tls: undefined, provider: env.provider, metrics: env.metrics, log: env.log });
    const Client = cloudProviderClient();
    const c = new Client(`127.0.0.1:${String(plain.port)}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { GPULabel: (req: object, cb: (err: grpc.ServiceError | null, res?: { label: string }) => void) => void };
    try {
      const label = await new Promise<string>((resolve, reject) => {
        c.GPULabel({}, (err, res) => {
          if (err) reject(err);
          else resolve(res?.label ?? '');
        });
      });
      expect(label).to.equal('cluster-api/accelerator');
    } finally {
      c.close();
      await plain.stop();
    }
  });
});
