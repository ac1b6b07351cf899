import { expect } from 'chai';
import { containerEnv, ContainerConfigError, expandCommand, type ObjectLookup } from './container-env.js';
import type { PodRuntimeFacts } from './downward-api.js';
import type { Container, Pod } from './pod-api.js';

const facts: PodRuntimeFacts = { podIP: '10.244.0.9', hostIP: '10.244.0.1', nodeAllocatable: { cpu: '4' } };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const lookup: ObjectLookup = {
  configMap: (name) => Promise.resolve(name === 'settings' ? { metadata: { name }, data: { MODE: 'fast', 'bad-key': 'x', LEVEL: '3' } } : undefined),
  secret: (name) => Promise.resolve(name === 'creds' ? { metadata: { name }, data: { password: b64('s3cret') } } : undefined),
};

function podWith(container: Container): Pod {
  return { metadata: { name: 'web-1', namespace: 'shop' }, spec: { containers: [container] } };
}

async function envOf(container: Container, base: Record<string, string> = {}): Promise<Record<string, string>> {
  return Object.fromEntries(await containerEnv(podWith(container), container, lookup, facts, base));
}

describe('container environment', () => {
  it('resolves every valueFrom kind', async () => {
    const env = await envOf({
      name: 'app',
      env: [
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'CPUS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      ],
    });
    expect(env).to.deep.equal({ POD: 'web-1', IP: '10.244.0.9', CPUS: '4', MODE: 'fast', PASSWORD: 's3cret' });
  });

  it('layers base, envFrom (prefixed, invalid names skipped) and env, later entries winning', async () => {
    const env = await envOf(
      { name: 'app', envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }, { secretRef: { name: 'creds' } }], env: [{ name: 'CFG_MODE', value: 'slow' }] },
      { PATH: '/bin', KUBERNETES_SERVICE_HOST: '10.96.0.1' },
    );
    expect(env).to.deep.equal({ PATH: '/bin', KUBERNETES_SERVICE_HOST: '10.96.0.1', CFG_MODE: 'slow', CFG_LEVEL: '3', password: 's3cret' });
  });

  it('expands $(VAR) in values against earlier entries only, and in command and args', async () => {
    const container: Container = {
      name: 'app',
      env: [
        { name: 'HOST', value: '$(KUBERNETES_SERVICE_HOST):$(PORT)' },
        { name: 'PORT', value: '443' },
        { name: 'URL', value: 'https://$(HOST)' },
      ],
      args: ['--server=$(URL)', '--literal=$$(URL)'],
    };
    const env = await containerEnv(podWith(container), container, lookup, facts, { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    expect(env.get('HOST')).to.equal('10.96.0.1:$(PORT)');
    expect(env.get('URL')).to.equal('https://10.96.0.1:$(PORT)');
    expect(expandCommand(container.args, env)).to.deep.equal(['--server=https://10.96.0.1:$(PORT)', '--literal=$(URL)']);
  });

  it('skips optional references that are missing', async () => {
    const env = await envOf({
      name: 'app',
      env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } }],
      envFrom: [{ secretRef: { name: 'absent', optional: true } }],
    });
    expect(env).to.deep.equal({});
  });

  const failures: { name: string; container: Container; message: RegExp }[] = [
    { name: 'a missing ConfigMap', container: { name: 'a', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k' } } }] }, message: /configmap "absent" not found/ },
    { name: 'a missing key', container: { name: 'a', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'user' } } }] }, message: /couldn't find key user in Secret shop\/creds/ },
    { name: 'a missing envFrom Secret', container: { name: 'a', envFrom: [{ secretRef: { name: 'absent' } }] }, message: /secret "absent" not found/ },
    { name: 'an env name the entry cannot export', container: { name: 'a', env: [{ name: 'my.var', value: '1' }] }, message: /env name "my.var" is not supported/ },
  ];
  for (const tc of failures) {
    it(`refuses to start with ${tc.name}`, async () => {
      let error: unknown;
      await envOf(tc.container).catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(ContainerConfigError);
      expect((error as Error).message).to.match(tc.message);
    });
  }
});
