import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { MACHINE_DEPLOYMENT_TYPE } from '../../lib/apis/cluster-api.js';
import { Manager } from '../../lib/controller/manager.js';
import { parseManagerFlags } from '../../lib/controller/manager-flags.js';
import { createLogger } from '../../lib/observability/logger.js';
import { ToolkitMetrics } from '../../lib/observability/metrics.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem } from '../../lib/pki/x509.js';
import { FakeApiServer } from '../../lib/testing/fake-apiserver.js';
import { DEFAULT_CLUSTER_AUTOSCALER_IMAGE } from './cluster-autoscaler-objects.js';
import { AUTOSCALER_OPTIONS, autoscalerConfig, setupAutoscaler } from './setup.js';

const parse = (args: string[]) => parseManagerFlags(args, AUTOSCALER_OPTIONS).values;

describe('providers/autoscaler/setup', () => {
  const cases: { name: string; args: string[]; want: ReturnType<typeof autoscalerConfig> | RegExp }[] = [
    {
      name: 'mutual TLS from three files, on every address by default',
      args: ['--tls-cert-file=c', '--tls-private-key-file=k', '--client-ca-file=ca'],
      want: { address: '0.0.0.0:8086', tlsFiles: { cert: 'c', key: 'k', clientCA: 'ca' }, clusters: undefined, clusterAutoscaler: { image: DEFAULT_CLUSTER_AUTOSCALER_IMAGE, extraArgs: [] } },
    },
    { name: 'plaintext only when asked for', args: ['--insecure', '--grpc-bind-address=127.0.0.1:0', '--cluster=acme', '--cluster=globex'], want: { address: '127.0.0.1:0', tlsFiles: undefined, clusters: ['acme', 'globex'], clusterAutoscaler: { image: DEFAULT_CLUSTER_AUTOSCALER_IMAGE, extraArgs: [] } } },
    {
      name: 'the per-Cluster cluster-autoscalers\' image and extra flags',
      args: ['--insecure', '--cluster-autoscaler-image=example.com/ca:v1', '--cluster-autoscaler-arg=--scan-interval=5s', '--cluster-autoscaler-arg=--v=2'],
      want: { address: '0.0.0.0:8086', tlsFiles: undefined, clusters: undefined, clusterAutoscaler: { image: 'example.com/ca:v1', extraArgs: ['--scan-interval=5s', '--v=2'] } },
    },
    { name: 'no TLS files and no --insecure', args: [], want: /needs --tls-cert-file/ },
    { name: 'a TLS file missing', args: ['--tls-cert-file=c', '--client-ca-file=ca'], want: /needs --tls-cert-file/ },
    { name: '--insecure with TLS files', args: ['--insecure', '--tls-cert-file=c'], want: /exclude each other/ },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      if (tc.want instanceof RegExp) expect(() => autoscalerConfig(parse(tc.args))).to.throw(tc.want);
      else expect(autoscalerConfig(parse(tc.args))).to.deep.equal(tc.want);
    });
  }

  it('serves externalgrpc with the TLS files once the manager runs, and reports ready only then', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'autoscaler-setup-'));
    const api = new FakeApiServer().serve({ ...MACHINE_DEPLOYMENT_TYPE, resource: 'machinedeployments', namespaced: true });
    const { flags } = parseManagerFlags(['--metrics-bind-address=0', '--health-probe-bind-address=0']);
    const manager = await Manager.create({ component: 'autoscaler', flags, transport: api, log: createLogger({ level: 'silent' }), metrics: new ToolkitMetrics() });
    try {
      const ca = await createCertificateAuthority('ca', 3_600_000);
      const serving = await issueCertificate(ca, { commonName: 'autoscaler', altNames: ['127.0.0.1'], usage: 'server', validFor: 3_600_000 });
      await writeFile(join(dir, 'tls.crt'), certificatePem(serving.cert));
      await writeFile(join(dir, 'tls.key'), await privateKeyPem(serving.key));
      await writeFile(join(dir, 'ca.crt'), certificatePem(ca.cert));
      const config = autoscalerConfig(parse([`--tls-cert-file=${join(dir, 'tls.crt')}`, `--tls-private-key-file=${join(dir, 'tls.key')}`, `--client-ca-file=${join(dir, 'ca.crt')}`, '--grpc-bind-address=127.0.0.1:0']));
      const handle = await setupAutoscaler(manager, config);
      expect(handle.port()).to.equal(undefined);
      expect(manager.isReady(), 'not ready before it serves').to.equal(false);
      await manager.start();
      const deadline = Date.now() + 5000;
      while (!(handle.port() !== undefined && manager.isReady()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(handle.port()).to.be.a('number');
      expect(manager.isReady(), 'ready once it serves').to.equal(true);
      await manager.stop();
      expect(handle.port(), 'stopped with the manager').to.equal(undefined);
    } finally {
      await manager.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
