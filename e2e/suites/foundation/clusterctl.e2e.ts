import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { binaryPath } from '../../../localcloud/binaries.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { upstreamVersion } from '../../../localcloud/versions.js';

const run = promisify(execFile);

describe('clusterctl built from the Cluster API module, offline', () => {
  let clusterctl: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(async function () {
    this.timeout(30 * 60_000);
    clusterctl = await binaryPath('clusterctl');
    // A private HOME: clusterctl keeps its config and overrides there, and must not touch the developer's.
    home = await mkdtemp(join(runDir(), 'clusterctl-'));
    env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), CLUSTERCTL_DISABLE_VERSIONCHECK: 'true' };
  });
  after(() => rm(home, { recursive: true, force: true }));

  it('reports the pinned Cluster API version', async () => {
    const { stdout } = await run(clusterctl, ['version', '-o', 'short'], { env });
    expect(stdout.trim()).to.equal(upstreamVersion('CLUSTER_API_VERSION'));
  });

  it('renders a template with variables and defaults through generate yaml --from', async () => {
    const template = join(home, 'template.yaml');
    await writeFile(
      template,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${CLUSTER_NAME}\ndata:\n  replicas: "${WORKER_MACHINE_COUNT:=3}"\n',
    );
    const { stdout } = await run(clusterctl, ['generate', 'yaml', '--from', template], { env: { ...env, CLUSTER_NAME: 'acme' } });
    expect(stdout).to.include('name: acme');
    expect(stdout).to.include('replicas: "3"');
    const { stdout: vars } = await run(clusterctl, ['generate', 'yaml', '--from', template, '--list-variables'], { env });
    expect(vars).to.match(/CLUSTER_NAME/);
    expect(vars).to.match(/WORKER_MACHINE_COUNT/);
  });
});
