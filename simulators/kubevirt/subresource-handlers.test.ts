// virt-api's writes to a VM racing another writer: a status written between our read and our patch survives, and a
// change that fails one of the patch's own tests is the caller's 409, as virt-api answers it.
import { expect } from 'chai';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type VirtualMachine } from '../../lib/apis/kubevirt.js';
import { Client } from '../../lib/kube/client.js';
import type { RestRequest, Transport } from '../../lib/kube/rest-transport.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { FakeApiServer } from '../../lib/testing/fake-apiserver.js';
import { StatusError } from './subresource-api.js';
import { SubresourceHandlers } from './subresource-handlers.js';

const NS = 'vms';
const VM_PATH = `/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines/vm1`;

describe('virt-api subresource handlers against a concurrent writer', () => {
  let api: FakeApiServer;
  let handlers: SubresourceHandlers;
  /** Runs once, just before the first request that patches the VM: the other writer's turn. */
  let race: (() => void) | undefined;

  beforeEach(() => {
    api = new FakeApiServer()
      .serve({ ...VIRTUAL_MACHINE_TYPE, resource: 'virtualmachines', namespaced: true, statusSubresource: true })
      .serve({ ...VIRTUAL_MACHINE_INSTANCE_TYPE, resource: 'virtualmachineinstances', namespaced: true });
    race = undefined;
    const transport: Transport = {
      host: api.host,
      stream: (req) => api.stream(req),
      close: () => { api.close(); },
      request: <T>(req: RestRequest) => {
        if (req.method === 'PATCH' && req.path.startsWith(VM_PATH) && race) {
          const turn = race;
          race = undefined;
          turn();
        }
        return api.request<T>(req);
      },
    };
    handlers = new SubresourceHandlers({ client: new Client({ transport, mapper: new RestMapper(api), fieldManager: 'virt-api' }), runtime: undefined });
  });

  const seedVM = (vm: Partial<VirtualMachine>) =>
    api.seed<VirtualMachine>({ ...VIRTUAL_MACHINE_TYPE, metadata: { namespace: NS, name: 'vm1' }, spec: { runStrategy: 'Manual', template: {} }, ...vm });
  const stored = () => api.peek(VIRTUAL_MACHINE_TYPE.apiVersion, VIRTUAL_MACHINE_TYPE.kind, `${NS}/vm1`) as VirtualMachine | undefined;
  const vmPatches = () => api.writes().filter((r) => r.method === 'PATCH' && r.path.startsWith(VM_PATH)).length;
  const statusWritten = () => {
    const vm = stored();
    api.seed({ ...vm, status: { printableStatus: 'Stopped' } } as VirtualMachine);
  };

  it('starts a VM read without a status from a fresh read when a status appeared meanwhile, keeping that status', async () => {
    seedVM({});
    race = statusWritten;

    expect(await handlers.vm('start', NS, 'vm1', '')).to.deep.equal({ code: 202 });
    expect(stored()?.status).to.deep.equal({ printableStatus: 'Stopped', stateChangeRequests: [{ action: 'Start' }] });
    expect(vmPatches(), 'the guarded patch, then the one built from the fresh read').to.equal(2);
  });

  it('records a hot-plug request on a VM read without a status the same way', async () => {
    seedVM({});
    race = statusWritten;
    const body = JSON.stringify({ name: 'scratch', disk: { disk: { bus: 'scsi' } }, volumeSource: { persistentVolumeClaim: { claimName: 'scratch-pvc' } } });

    expect(await handlers.vm('addvolume', NS, 'vm1', body)).to.deep.equal({ code: 202 });
    expect(stored()?.status?.printableStatus).to.equal('Stopped');
    expect(stored()?.status?.volumeRequests?.map((r) => r.addVolumeOptions?.name)).to.deep.equal(['scratch']);
  });

  it('answers 409 when a concurrent change fails a test of the patch itself, and writes nothing', async () => {
    seedVM({ spec: { runStrategy: 'Halted', template: {} } });
    race = () => {
      api.seed({ ...stored(), spec: { runStrategy: 'Manual', template: {} } } as VirtualMachine);
    };

    let refused: unknown;
    await handlers.vm('start', NS, 'vm1', '').catch((err: unknown) => (refused = err));
    expect(refused).to.be.instanceOf(StatusError);
    expect((refused as StatusError).code).to.equal(409);
    expect((refused as StatusError).message).to.match(/testing value \/spec\/runStrategy failed/);
    expect(stored()?.spec?.runStrategy).to.equal('Manual');
    expect(vmPatches()).to.equal(1);
  });
});
