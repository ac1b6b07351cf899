import { expect } from 'chai';
import type { VirtualMachineSpec } from '../../../lib/apis/kubevirt.js';
import { KubevirtMachineTemplateGVK, type KubevirtMachineTemplate } from '../api/index.js';
import { KubevirtMachineTemplateReconciler } from './kubevirtmachinetemplate.js';
import { NS, InfraEnv } from './reconcile-env.testdata.js';

function template(spec: VirtualMachineSpec): KubevirtMachineTemplate {
  return { ...KubevirtMachineTemplateGVK, metadata: { namespace: NS, name: 'workers' }, spec: { template: { spec: { virtualMachineTemplate: { spec } } } } };
}

const workers: VirtualMachineSpec = {
  template: { spec: { architecture: 'arm64', domain: { cpu: { cores: 2, sockets: 2 }, memory: { guest: '8Gi' }, devices: {} } } },
};

describe('providers/infrastructure/controllers: KubevirtMachineTemplate reconciler', () => {
  let env: InfraEnv;
  const reconciler = new KubevirtMachineTemplateReconciler();

  beforeEach(() => {
    env = new InfraEnv();
  });
  afterEach(async () => {
    await env.close();
  });

  it('publishes what one machine offers, for cluster-autoscaler scaling from zero', async () => {
    env.seed(template(workers));

    const { error, stored } = await env.pass(reconciler, KubevirtMachineTemplateGVK, 'workers');

    expect(error).to.equal(undefined);
    expect(stored?.status).to.deep.equal({ capacity: { cpu: '4', memory: '8Gi' }, nodeInfo: { architecture: 'arm64', operatingSystem: 'linux' } });
  });

  it('writes nothing when the published capacity is current', async () => {
    env.seed(template(workers));
    await env.pass(reconciler, KubevirtMachineTemplateGVK, 'workers');
    const writes = env.api.writes().length;

    await env.pass(reconciler, KubevirtMachineTemplateGVK, 'workers');

    expect(env.api.writes().length).to.equal(writes);
  });

  it('follows a template whose machines changed', async () => {
    env.seed({ ...template(workers), status: { capacity: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': '1' } } });

    const { stored } = await env.pass(reconciler, KubevirtMachineTemplateGVK, 'workers');

    expect(stored?.status?.capacity).to.deep.equal({ cpu: '4', memory: '8Gi' });
  });
});
