import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { rejection } from '../lib/testing/rejection.js';
import { assetEnvVar, binaryPath, envtestURL, fetchEnvtest } from './binaries.js';
import { upstreamVersion } from './versions.js';

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) Reflect.deleteProperty(process.env, k);
    else process.env[k] = v;
  }
}

/** Sets environment variables for one test; the returned function puts the old values back. */
function withEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  setEnv(vars);
  return () => {
    setEnv(saved);
  };
}

function fakeExecutable(path: string): string {
  writeFileSync(path, '#!/bin/sh\necho fake\n');
  chmodSync(path, 0o755);
  return path;
}

describe('localcloud/binaries', () => {
  let tmp: string;
  let restore: () => void = () => undefined;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kvcloud-bin-'));
  });
  afterEach(() => {
    restore();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('names the envtest asset variables the way controller-runtime does', () => {
    expect(assetEnvVar('kube-apiserver')).to.equal('TEST_ASSET_KUBE_APISERVER');
    expect(assetEnvVar('etcd')).to.equal('TEST_ASSET_ETCD');
    expect(assetEnvVar('kubectl')).to.equal('TEST_ASSET_KUBECTL');
  });

  it('prefers TEST_ASSET_<NAME> over everything else and rejects a path that is not executable', async () => {
    const etcd = fakeExecutable(join(tmp, 'my-etcd'));
    restore = withEnv({ TEST_ASSET_ETCD: etcd, KUBEBUILDER_ASSETS: tmp });
    expect(await binaryPath('etcd')).to.equal(etcd);
    process.env.TEST_ASSET_ETCD = join(tmp, 'missing');
    expect((await rejection(binaryPath('etcd'), 'a missing TEST_ASSET_ETCD')).message).to.include('TEST_ASSET_ETCD');
  });

  it('uses KUBEBUILDER_ASSETS when it holds the binary', async () => {
    const apiserver = fakeExecutable(join(tmp, 'kube-apiserver'));
    restore = withEnv({ TEST_ASSET_KUBE_APISERVER: undefined, KUBEBUILDER_ASSETS: tmp });
    expect(await binaryPath('kube-apiserver')).to.equal(apiserver);
  });

  it('takes kubectl of the cluster\'s own version from the cache, not an older one on the PATH', async () => {
    const onPath = join(tmp, 'path');
    mkdirSync(onPath);
    fakeExecutable(join(onPath, 'kubectl'));
    const built = join(tmp, 'cache', 'bin', `kubernetes-${upstreamVersion('KUBERNETES_VERSION')}`);
    mkdirSync(built, { recursive: true });
    const kubectl = fakeExecutable(join(built, 'kubectl'));
    writeFileSync(join(built, '.complete'), '');
    restore = withEnv({ KVCLOUD_CACHE: join(tmp, 'cache'), PATH: `${onPath}:${process.env.PATH ?? ''}`, TEST_ASSET_KUBECTL: undefined, KUBEBUILDER_ASSETS: undefined });
    expect(await binaryPath('kubectl')).to.equal(kubectl);
  });

  it('builds the official envtest download address', () => {
    const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
    expect(envtestURL('v1.37.0', undefined)).to.equal(
      `https://github.com/kubernetes-sigs/controller-tools/releases/download/envtest-v1.37.0/envtest-v1.37.0-${process.platform}-${arch}.tar.gz`,
    );
  });

  describe('envtest download (served from loopback)', () => {
    let server: Server;
    let requests: string[];
    let archive: Buffer;
    let checksum: string;

    beforeEach(async () => {
      const tree = join(tmp, 'tree', 'controller-tools', 'envtest');
      mkdirSync(tree, { recursive: true });
      for (const name of ['etcd', 'kube-apiserver', 'kubectl']) fakeExecutable(join(tree, name));
      const tarball = join(tmp, 'envtest.tar.gz');
      execFileSync('tar', ['-czf', tarball, '-C', join(tmp, 'tree'), 'controller-tools']);
      archive = readFileSync(tarball);
      checksum = createHash('sha512').update(archive).digest('hex');
      requests = [];
      server = createServer((req, res) => {
        requests.push(req.url ?? '');
        if (req.url?.endsWith('.sha512')) res.end(`${checksum}  envtest.tar.gz\n`);
        else res.end(archive);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      restore = withEnv({ KVCLOUD_CACHE: join(tmp, 'cache'), KVCLOUD_ENVTEST_BASE_URL: `http://127.0.0.1:${port}/dl` });
    });
    afterEach(() => new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    }));

    it('unpacks etcd, kube-apiserver and kubectl once, verified against the published SHA-512', async () => {
      const dir = await fetchEnvtest('v1.37.0');
      for (const name of ['etcd', 'kube-apiserver', 'kubectl']) expect(existsSync(join(dir, name)), name).to.be.true;
      expect(requests).to.have.length(2);
      expect(await fetchEnvtest('v1.37.0')).to.equal(dir);
      expect(requests).to.have.length(2);
    });

    it('refuses an archive whose checksum does not match and leaves nothing behind', async () => {
      checksum = 'f'.repeat(128);
      expect((await rejection(fetchEnvtest('v1.37.0'), 'a corrupt archive')).message).to.match(/sha512 .* does not match/);
      expect(existsSync(join(tmp, 'cache', 'bin', 'envtest-v1.37.0'))).to.be.false;
    });
  });
});
