import { expect } from 'chai';
import { dirname } from 'node:path';
import { ContainerConfigError, type ObjectLookup } from './container-env.js';
import { classifyStartFailure, prepareStart, type StartInput } from './container-start.js';
import { ExecutableNotFoundError, ImageNotMappedError, resolveImage, TEST_ECHO_IMAGE } from './images.js';
import type { Container, Pod } from './pod-api.js';

const lookup: ObjectLookup = { configMap: () => Promise.resolve(undefined), secret: () => Promise.resolve(undefined) };

function input(container: Container, volumes: Pod['spec']['volumes'] = []): StartInput {
  return {
    pod: { metadata: { name: 'web-1', namespace: 'shop' }, spec: { containers: [container], volumes } },
    container,
    lookup,
    facts: { podIP: '10.244.0.9', hostIP: '10.244.0.1', nodeAllocatable: {} },
    baseEnv: { KUBERNETES_SERVICE_HOST: '10.244.0.1', HOSTNAME: 'web-1' },
    volumePaths: new Map([['data', '/run/pod/volumes/data']]),
    etcHosts: '/run/pod/etc-hosts',
  };
}

describe('container start preparation', () => {
  it('runs the image entrypoint with expanded args, the image env under the container env, and the mounts', async () => {
    const prepared = await prepareStart(
      input({ name: 'app', image: TEST_ECHO_IMAGE, args: ['--port=$(PORT)'], env: [{ name: 'PORT', value: '9000' }], volumeMounts: [{ name: 'data', mountPath: '/data' }] }, [
        { name: 'data', emptyDir: {} },
      ]),
    );
    expect(prepared.argv.slice(-1)).to.deep.equal(['--port=9000']);
    expect(Object.fromEntries(prepared.env)).to.deep.include({ PORT: '9000', KUBERNETES_SERVICE_HOST: '10.244.0.1', HOSTNAME: 'web-1' });
    expect(prepared.env.get('PATH')).to.match(/\/usr\/bin/);
    expect(prepared.mounts.map((m) => m.target)).to.deep.equal(['/data', '/etc/hosts']);
  });

  it('refuses a mountPath that would hide the program the image runs', async () => {
    const program = (await resolveImage(TEST_ECHO_IMAGE)).entrypoint[1] ?? '';
    let error: unknown;
    await prepareStart(input({ name: 'app', image: TEST_ECHO_IMAGE, volumeMounts: [{ name: 'data', mountPath: dirname(program) }] }, [{ name: 'data', emptyDir: {} }])).catch(
      (err: unknown) => (error = err),
    );
    expect(error).to.be.instanceOf(ContainerConfigError);
    expect((error as Error).message).to.include(`mountPath ${dirname(program)} would hide ${program}`);
  });

  const failures: { name: string; err: Error; want: object }[] = [
    { name: 'an unmapped image waits in ErrImagePull', err: new ImageNotMappedError('no program'), want: { kind: 'waiting', reason: 'ErrImagePull' } },
    { name: 'a missing key waits in CreateContainerConfigError', err: new ContainerConfigError('no key'), want: { kind: 'waiting', reason: 'CreateContainerConfigError' } },
    { name: 'a missing executable is a StartError run', err: new ExecutableNotFoundError('exec: "sh"'), want: { kind: 'start-error', message: 'exec: "sh"' } },
  ];
  for (const tc of failures) {
    it(tc.name, () => {
      expect(classifyStartFailure(tc.err)).to.deep.include(tc.want);
    });
  }
});
