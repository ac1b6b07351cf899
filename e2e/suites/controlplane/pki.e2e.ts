// The tenant PKI as the operator generates it, checked independently: openssl verifies chains, SANs, key usages,
// lifetimes and key pairs; then a real kube-apiserver runs on exactly these files (its etcd a TLS etcd that trusts
// the DataStore CA, reached with the datastore client certificate), serves the generated serving certificate and
// accepts the generated kubeconfigs. (bench/tenant-pki.ts measures ECDSA against RSA generation of a whole set.)
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem } from '../../../lib/pki/x509.js';
import { ADMIN_KUBECONFIG_SECRET, CONTROLLER_MANAGER_KUBECONFIG_SECRET, SCHEDULER_KUBECONFIG_SECRET } from '../../../providers/controlplane/kubeconfig/index.js';
import { buildDataStoreCertificate, DEFAULT_PKI_OPTIONS, type PKIOptions, type SecretData } from '../../../providers/controlplane/pki/index.js';
import { binaryPath } from '../../../localcloud/binaries.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { freePort } from '../../../localcloud/ports.js';
import { ManagedProcess } from '../../../localcloud/process.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { waitFor } from '../../../localcloud/wait.js';
import { tenantPKI } from '../../harness/tenant-pki.js';

const run = promisify(execFile);
const DAY = 86_400_000;
const ETCD_USER = 'tenants_acme';

async function openssl(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('openssl', args);
  return stdout + stderr;
}

/** Writes Secret data as a Secret volume would present it: one file per key in a directory per Secret. */
async function mount(dir: string, secret: string, data: SecretData): Promise<Record<string, string>> {
  const path = join(dir, secret);
  await mkdir(path, { recursive: true });
  const files: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    files[key] = join(path, key);
    await writeFile(files[key], value, { mode: 0o600 });
  }
  return files;
}

function httpsGet(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The serving certificate a TLS server presents for `servername`, verified against `ca` for that name. */
function servedCertificate(port: number, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

describe('controlplane PKI: checked by openssl, served by a real kube-apiserver', function () {
  const opts: PKIOptions = { ...DEFAULT_PKI_OPTIONS, certificateValidity: 90 * DAY };
  let dir: string;
  let apiPort: number;
  let etcdURL: string;
  let files: Record<string, Record<string, string>>;
  let sans: string[];
  let caPem: string;
  const procs: ManagedProcess[] = [];
  const f = (secret: string, key: string) => files[secret]?.[key] ?? `missing ${secret}/${key}`;

  before(async function () {
    this.timeout(120_000);
    dir = await mkdtemp(join(runDir(), 'tenant-pki-'));
    const [etcdPort, etcdPeerPort] = await Promise.all([freePort(), freePort()]);
    apiPort = await freePort();
    const pki = await tenantPKI(opts, apiPort);
    sans = pki.sans;
    caPem = certificatePem(pki.ca.cert);

    // The shared etcd a DataStore describes: TLS with client certificates, trusting the DataStore's CA.
    const dataStoreCA = await createCertificateAuthority('etcd-ca', 365 * DAY);
    const etcdServing = await issueCertificate(dataStoreCA, { commonName: 'etcd', altNames: ['127.0.0.1', 'localhost'], usage: 'server-and-client', validFor: DAY });
    pki.secrets['datastore-certificate'] = await buildDataStoreCertificate(ETCD_USER, dataStoreCA, opts);
    pki.secrets['etcd-server'] = { 'ca.crt': certificatePem(dataStoreCA.cert), 'tls.crt': certificatePem(etcdServing.cert), 'tls.key': await privateKeyPem(etcdServing.key) };

    files = {};
    for (const [secret, data] of Object.entries(pki.secrets)) files[secret] = await mount(dir, secret, data);

    etcdURL = `https://127.0.0.1:${String(etcdPort)}`;
    const etcd = await ManagedProcess.start({
      name: 'pki-etcd',
      command: await binaryPath('etcd'),
      logFile: join(dir, 'etcd.log'),
      args: [
        '--name=pki',
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdURL}`,
        `--advertise-client-urls=${etcdURL}`,
        `--listen-peer-urls=http://127.0.0.1:${String(etcdPeerPort)}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${String(etcdPeerPort)}`,
        `--initial-cluster=pki=http://127.0.0.1:${String(etcdPeerPort)}`,
        '--client-cert-auth',
        `--trusted-ca-file=${f('etcd-server', 'ca.crt')}`,
        `--cert-file=${f('etcd-server', 'tls.crt')}`,
        `--key-file=${f('etcd-server', 'tls.key')}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
    });
    procs.push(etcd);

    const apiserver = await ManagedProcess.start({
      name: 'pki-kube-apiserver',
      command: await binaryPath('kube-apiserver'),
      logFile: join(dir, 'kube-apiserver.log'),
      args: [
        `--etcd-servers=${etcdURL}`,
        `--etcd-prefix=/${ETCD_USER}`,
        `--etcd-cafile=${f('datastore-certificate', 'ca.crt')}`,
        `--etcd-certfile=${f('datastore-certificate', 'server.crt')}`,
        `--etcd-keyfile=${f('datastore-certificate', 'server.key')}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--secure-port=${String(apiPort)}`,
        `--tls-cert-file=${f('api-server-certificate', 'apiserver.crt')}`,
        `--tls-private-key-file=${f('api-server-certificate', 'apiserver.key')}`,
        `--client-ca-file=${f('ca', 'ca.crt')}`,
        `--kubelet-client-certificate=${f('api-server-kubelet-client-certificate', 'apiserver-kubelet-client.crt')}`,
        `--kubelet-client-key=${f('api-server-kubelet-client-certificate', 'apiserver-kubelet-client.key')}`,
        `--requestheader-client-ca-file=${f('front-proxy-ca-certificate', 'front-proxy-ca.crt')}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        `--proxy-client-cert-file=${f('front-proxy-client-certificate', 'front-proxy-client.crt')}`,
        `--proxy-client-key-file=${f('front-proxy-client-certificate', 'front-proxy-client.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${f('sa-certificate', 'sa.pub')}`,
        `--service-account-signing-key-file=${f('sa-certificate', 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--authorization-mode=Node,RBAC',
        '--enable-bootstrap-token-auth=true',
      ],
    });
    procs.push(apiserver);
    await waitFor(
      async () => {
        if (!apiserver.running) throw new Error(`kube-apiserver exited:\n${apiserver.logTail()}`);
        return (await httpsGet(`https://127.0.0.1:${String(apiPort)}/readyz`, caPem)) === 200 ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the tenant kube-apiserver to be ready on the generated PKI' },
    );
  });

  after(async function () {
    this.timeout(60_000);
    for (const p of procs.reverse()) await p.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('openssl', () => {
    const chains: { secret: string; cert: string; ca: [string, string]; purpose: 'sslserver' | 'sslclient' }[] = [
      { secret: 'api-server-certificate', cert: 'apiserver.crt', ca: ['ca', 'ca.crt'], purpose: 'sslserver' },
      { secret: 'api-server-kubelet-client-certificate', cert: 'apiserver-kubelet-client.crt', ca: ['ca', 'ca.crt'], purpose: 'sslclient' },
      { secret: 'front-proxy-client-certificate', cert: 'front-proxy-client.crt', ca: ['front-proxy-ca-certificate', 'front-proxy-ca.crt'], purpose: 'sslclient' },
      { secret: 'konnectivity-certificate', cert: 'tls.crt', ca: ['ca', 'ca.crt'], purpose: 'sslclient' },
      { secret: 'datastore-certificate', cert: 'server.crt', ca: ['datastore-certificate', 'ca.crt'], purpose: 'sslclient' },
    ];
    for (const tc of chains) {
      it(`verifies ${tc.secret}/${tc.cert} against ${tc.ca.join('/')} for ${tc.purpose}, and its key matches`, async () => {
        const out = await openssl('verify', '-purpose', tc.purpose, '-CAfile', f(...tc.ca), f(tc.secret, tc.cert));
        expect(out).to.match(/: OK/);
        const keyFile = f(tc.secret, tc.cert.replace(/\.crt$/, '.key'));
        const [fromKey, fromCert] = await Promise.all([openssl('pkey', '-in', keyFile, '-pubout'), openssl('x509', '-in', f(tc.secret, tc.cert), '-noout', '-pubkey')]);
        expect(fromKey).to.equal(fromCert);
      });
    }

    it('refuses a leaf against the wrong CA (the check can fail)', async () => {
      const err = await run('openssl', ['verify', '-CAfile', f('ca', 'ca.crt'), f('front-proxy-client-certificate', 'front-proxy-client.crt')]).then(
        () => undefined,
        (e: unknown) => e as Error & { stdout?: string; stderr?: string },
      );
      expect(`${err?.stdout ?? ''}${err?.stderr ?? ''}`).to.match(/unable to get local issuer certificate/);
    });

    it('reads every wanted SAN from the serving certificate', async () => {
      const out = await openssl('x509', '-in', f('api-server-certificate', 'apiserver.crt'), '-noout', '-ext', 'subjectAltName');
      for (const want of ['DNS:localhost', 'DNS:acme', 'DNS:acme.tenants.svc', 'DNS:acme.tenants.svc.cluster.local', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:api.acme.example', 'IP Address:127.0.0.1', 'IP Address:10.96.0.1']) {
        expect(out).to.include(want);
      }
      expect(out.match(/(DNS|IP Address):/g)?.length).to.equal(sans.length);
    });

    const usages: { name: string; file: [string, string]; want: RegExp[] }[] = [
      { name: 'the cluster CA', file: ['ca', 'ca.crt'], want: [/CA:TRUE/, /Certificate Sign/, /CRL Sign/] },
      { name: 'the front-proxy CA', file: ['front-proxy-ca-certificate', 'front-proxy-ca.crt'], want: [/CA:TRUE/, /Certificate Sign/] },
      { name: 'the serving certificate', file: ['api-server-certificate', 'apiserver.crt'], want: [/CA:FALSE/, /Digital Signature/, /TLS Web Server Authentication/] },
      { name: 'the kubelet client certificate', file: ['api-server-kubelet-client-certificate', 'apiserver-kubelet-client.crt'], want: [/CA:FALSE/, /Digital Signature/, /TLS Web Client Authentication/] },
      { name: 'the datastore client certificate', file: ['datastore-certificate', 'server.crt'], want: [/CA:FALSE/, /TLS Web Client Authentication/] },
    ];
    for (const tc of usages) {
      it(`shows the key usages of ${tc.name}`, async () => {
        const out = await openssl('x509', '-in', f(...tc.file), '-noout', '-ext', 'basicConstraints,keyUsage,extendedKeyUsage');
        for (const w of tc.want) expect(out).to.match(w);
        if (tc.file[1] !== 'ca.crt' && !tc.file[1].includes('-ca.')) {
          expect(out).to.not.match(tc.name.includes('serving') ? /Client Authentication/ : /Server Authentication/);
        }
      });
    }

    it('shows the configured lifetimes and subjects', async () => {
      const lifetime = async (file: string) => {
        const out = await openssl('x509', '-in', file, '-noout', '-startdate', '-enddate');
        const [, start = ''] = /notBefore=(.*)/.exec(out) ?? [];
        const [, end = ''] = /notAfter=(.*)/.exec(out) ?? [];
        return Date.parse(end) - Date.parse(start);
      };
      expect(await lifetime(f('ca', 'ca.crt'))).to.be.closeTo(opts.caValidity, 120_000);
      expect(await lifetime(f('api-server-certificate', 'apiserver.crt'))).to.be.closeTo(opts.certificateValidity, 120_000);
      // -checkend: valid a day from now, expired after the leaf lifetime.
      await openssl('x509', '-in', f('api-server-certificate', 'apiserver.crt'), '-noout', '-checkend', String(DAY / 1000));
      const expired = await run('openssl', ['x509', '-in', f('api-server-certificate', 'apiserver.crt'), '-noout', '-checkend', String((opts.certificateValidity + DAY) / 1000)]).then(() => false, () => true);
      expect(expired).to.equal(true);
      const subject = await openssl('x509', '-in', f('api-server-kubelet-client-certificate', 'apiserver-kubelet-client.crt'), '-noout', '-subject', '-nameopt', 'RFC2253');
      expect(subject).to.match(/subject=O=kubeadm:cluster-admins,CN=kube-apiserver-kubelet-client/);
      const ds = await openssl('x509', '-in', f('datastore-certificate', 'server.crt'), '-noout', '-subject', '-nameopt', 'RFC2253');
      expect(ds).to.match(new RegExp(`subject=CN=${ETCD_USER}`));
    });
  });

  describe('a real kube-apiserver on these files', () => {
    it('serves the generated serving certificate under each of its names', async () => {
      const want = new X509Certificate(readFileSync(f('api-server-certificate', 'apiserver.crt'), 'utf8')).fingerprint256;
      for (const name of ['localhost', 'acme.tenants.svc', 'kubernetes.default.svc.cluster.local', 'api.acme.example']) {
        expect(await servedCertificate(apiPort, name, caPem), name).to.equal(want);
      }
      const sClient = await run('openssl', ['s_client', '-connect', `127.0.0.1:${String(apiPort)}`, '-CAfile', f('ca', 'ca.crt'), '-verify_return_error', '-verify_hostname', 'acme.tenants.svc.cluster.local'], { timeout: 10_000 }).catch(
        (e: unknown) => e as { stdout: string },
      );
      expect(sClient.stdout).to.match(/Verify return code: 0 \(ok\)/);
    });

    it('accepts admin.conf as kubernetes-admin in kubeadm:cluster-admins, which RBAC grants once super-admin binds it', async () => {
      const admin = f('admin-kubeconfig', ADMIN_KUBECONFIG_SECRET.admin);
      const superAdmin = f('admin-kubeconfig', ADMIN_KUBECONFIG_SECRET.superAdmin);
      expect(await kubectl(admin, ['get', '--raw', '/readyz'])).to.equal('ok');
      const whoami = JSON.parse(await kubectl(admin, ['auth', 'whoami', '-o', 'json'])) as { status: { userInfo: { username: string; groups: string[] } } };
      expect(whoami.status.userInfo.username).to.equal('kubernetes-admin');
      expect(whoami.status.userInfo.groups).to.include('kubeadm:cluster-admins');
      expect((await kubectl(admin, ['auth', 'can-i', 'list', 'namespaces']).catch((e: unknown) => String(e))).trim()).to.match(/no/);
      await kubectl(superAdmin, ['create', 'clusterrolebinding', 'kubeadm:cluster-admins', '--clusterrole=cluster-admin', '--group=kubeadm:cluster-admins']);
      await waitFor(async () => ((await kubectl(admin, ['auth', 'can-i', '*', '*'])).trim() === 'yes' ? true : undefined), {
        timeoutMs: 10_000,
        what: 'admin.conf to be cluster-admin',
      });
      expect(await kubectl(admin, ['get', 'namespaces', '-o', 'name'])).to.include('namespace/default');
    });

    const identities: { secret: string; key: string; user: string }[] = [
      { secret: 'controller-manager-kubeconfig', key: CONTROLLER_MANAGER_KUBECONFIG_SECRET.key, user: 'system:kube-controller-manager' },
      { secret: 'scheduler-kubeconfig', key: SCHEDULER_KUBECONFIG_SECRET.key, user: 'system:kube-scheduler' },
      { secret: 'konnectivity-kubeconfig', key: 'konnectivity-server.conf', user: 'system:konnectivity-server' },
      { secret: 'admin-kubeconfig', key: ADMIN_KUBECONFIG_SECRET.superAdmin, user: 'kubernetes-super-admin' },
    ];
    for (const tc of identities) {
      it(`authenticates ${tc.key} as ${tc.user}`, async () => {
        const whoami = JSON.parse(await kubectl(f(tc.secret, tc.key), ['auth', 'whoami', '-o', 'json'])) as { status: { userInfo: { username: string } } };
        expect(whoami.status.userInfo.username).to.equal(tc.user);
      });
    }

    it('signs service-account tokens with sa.key and verifies them with sa.pub', async () => {
      const superAdmin = f('admin-kubeconfig', ADMIN_KUBECONFIG_SECRET.superAdmin);
      await kubectl(superAdmin, ['create', 'serviceaccount', 'pki-probe', '-n', 'default']);
      const token = (await kubectl(superAdmin, ['create', 'token', 'pki-probe', '-n', 'default'])).trim();
      const out = await kubectl('/dev/null', [`--server=https://127.0.0.1:${String(apiPort)}`, `--certificate-authority=${f('ca', 'ca.crt')}`, `--token=${token}`, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
      expect(out).to.equal('system:serviceaccount:default:pki-probe');
    });

    it(`keeps the tenant's data under /${ETCD_USER}/ in the TLS etcd, reached with the datastore client certificate`, async () => {
      const { stdout } = await run(await binaryPath('etcdctl'), [
        `--endpoints=${etcdURL}`,
        `--cacert=${f('datastore-certificate', 'ca.crt')}`,
        `--cert=${f('datastore-certificate', 'server.crt')}`,
        `--key=${f('datastore-certificate', 'server.key')}`,
        'get',
        `/${ETCD_USER}/serviceaccounts/default/pki-probe`,
        '--keys-only',
      ]);
      expect(stdout.trim()).to.equal(`/${ETCD_USER}/serviceaccounts/default/pki-probe`);
    });
  });
});
