import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ObjectLookup } from './container-env.js';
import type { PodRuntimeFacts } from './downward-api.js';
import type { Volume } from './pod-api.js';
import { materialiseVolumes, VolumeSetupError, type VolumeContext } from './pod-volumes.js';
import type { ServiceAccountTokens } from './service-account-token.js';

describe('hostPath volumes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pod-volumes-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const context = (volumes: Volume[], nodeRoot?: string): VolumeContext => ({
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'kube-proxy-x', namespace: 'kube-system' }, spec: { containers: [], volumes } },
    dir: join(dir, 'volumes'),
    // hostPath volumes read nothing from the apiserver.
    lookup: {} as ObjectLookup,
    tokens: {} as ServiceAccountTokens,
    facts: {} as PodRuntimeFacts,
    ...(nodeRoot ? { nodeFS: { resolve: (p: string) => join(nodeRoot, p) } } : {}),
  });

  it("makes a simulated VM's missing paths inside its filesystem: a file for FileOrCreate, a directory when unchecked", async () => {
    const root = join(dir, 'vm-root');
    const paths = await materialiseVolumes(
      context(
        [
          { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
          { name: 'lib-modules', hostPath: { path: '/lib/modules' } },
        ],
        root,
      ),
    );
    expect(paths.get('xtables-lock')).to.equal(join(root, 'run/xtables.lock'));
    expect(await readFile(join(root, 'run/xtables.lock'), 'utf8')).to.equal('');
    expect((await stat(join(root, 'lib/modules'))).isDirectory()).to.be.true;
  });

  it('refuses a missing path whose type forbids creating it, naming the type', async () => {
    const err = await materialiseVolumes(context([{ name: 'sock', hostPath: { path: '/run/app.sock', type: 'Socket' } }], join(dir, 'vm-root'))).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(VolumeSetupError);
    expect((err as Error).message).to.include('hostPath /run/app.sock of type Socket does not exist on the node');
  });

  it("never creates paths on the machine's own filesystem", async () => {
    const missing = join(dir, 'not-there');
    const err = await materialiseVolumes(context([{ name: 'm', hostPath: { path: missing, type: 'DirectoryOrCreate' } }])).catch((e: unknown) => e);
    expect((err as Error).message).to.include('the local pod runner never creates host paths');
    expect(await stat(missing).catch(() => undefined)).to.equal(undefined);
  });
});
