import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { DataVolume } from '../../lib/apis/cdi.js';
import { ApiError } from '../../lib/kube/api-error.js';
import type { KubeObject } from '../../lib/kube/object.js';
import type { RestRequest } from '../../lib/kube/rest-transport.js';
import { rejection } from '../../lib/testing/rejection.js';
import type { CsiError } from '../status.js';
import { claimNotReady, expansionBytes, type InfraClaim } from './expand.js';
import { BLOCK, CAP, codeOf, DATA_VOLUME_RESOURCE, fakeInfra, LABELS, NS } from './fake-infra.testdata.js';

const MAPPINGS = [
  DATA_VOLUME_RESOURCE,
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim', resource: 'persistentvolumeclaims', namespaced: true, statusSubresource: true },
];

describe('csi/controller/expand', () => {
  describe('expansionBytes', () => {
    const cases: { name: string; range: { required_bytes?: number; limit_bytes?: number } | undefined; current: number; want?: number; code?: number }[] = [
      { name: 'grows to required_bytes exactly', range: { required_bytes: 2000 }, current: 1000, want: 2000 },
      { name: 'grows within a limit', range: { required_bytes: 2000, limit_bytes: 3000 }, current: 1000, want: 2000 },
      { name: 'leaves a volume already that big (idempotent)', range: { required_bytes: 2000 }, current: 2000, want: undefined },
      { name: 'leaves a bigger volume when only asked for less', range: { required_bytes: 1000 }, current: 2000, want: undefined },
      { name: 'refuses to shrink below the current size', range: { required_bytes: 500, limit_bytes: 1000 }, current: 2000, code: status.OUT_OF_RANGE },
      { name: 'refuses required above limit', range: { required_bytes: 5, limit_bytes: 4 }, current: 1, code: status.OUT_OF_RANGE },
      { name: 'refuses a missing range', range: undefined, current: 1, code: status.INVALID_ARGUMENT },
      { name: 'refuses an empty range', range: {}, current: 1, code: status.INVALID_ARGUMENT },
      { name: 'refuses negative bytes', range: { required_bytes: -1 }, current: 1, code: status.INVALID_ARGUMENT },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        if (tc.code === undefined) expect(expansionBytes(tc.range, tc.current)).to.equal(tc.want);
        else expect(() => expansionBytes(tc.range, tc.current)).to.throw().with.property('code', tc.code);
      });
    }
  });

  it('accepts only the bound claim controlled by the DataVolume', () => {
    const dv = { metadata: { name: 'pvc-1', uid: 'dv-uid' } } as DataVolume;
    const claim = (uid: string, phase: string): InfraClaim => ({ metadata: { name: 'pvc-1', ownerReferences: [{ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', name: 'pvc-1', uid, controller: true }] }, spec: {}, status: { phase } });
    expect(claimNotReady(undefined, dv)).to.equal('no claim yet');
    expect(claimNotReady(claim('other', 'Bound'), dv)).to.match(/not controlled by DataVolume pvc-1/);
    expect(claimNotReady(claim('dv-uid', 'Pending'), dv)).to.equal('claim phase Pending');
    expect(claimNotReady(claim('dv-uid', 'Bound'), dv)).to.equal(undefined);
  });

  describe('ControllerExpandVolume', () => {
    /** The controller against a fake infra apiserver whose storage grows a claim as soon as its request grows. */
    function setup() {
      const { api, rpc } = fakeInfra(MAPPINGS, { infraNamespace: NS, infraLabels: LABELS, attachTimeoutMs: 300, pollIntervalMs: 10 });
      let storageGrows = true;
      api.afterWrite = (obj: KubeObject & { spec?: InfraClaim['spec']; status?: InfraClaim['status'] }) => {
        const requested = obj.spec?.resources?.requests?.storage;
        if (storageGrows && obj.kind === 'PersistentVolumeClaim' && requested && obj.status?.capacity?.storage !== requested) api.seed({ ...obj, status: { ...obj.status, capacity: { storage: requested } } });
      };
      /** The claim CDI made for the DataVolume, bound at the volume's size. */
      const bindClaim = (name: string, bytes: number) => {
        const dv = api.peek('cdi.kubevirt.io/v1beta1', 'DataVolume', `${NS}/${name}`) as DataVolume;
        api.seed({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name, namespace: NS, ownerReferences: [{ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', name, uid: dv.metadata.uid ?? '', controller: true }] },
          spec: { resources: { requests: { storage: String(bytes) } } },
          status: { phase: 'Bound', capacity: { storage: String(bytes) } },
        });
      };
      const claimRequest = (name: string) => (api.peek('v1', 'PersistentVolumeClaim', `${NS}/${name}`) as InfraClaim | undefined)?.spec.resources?.requests?.storage;
      return { api, rpc, bindClaim, claimRequest, stopStorage: () => (storageGrows = false) };
    }

    it('grows the infra claim to exactly required_bytes, waits for its capacity, and asks for node expansion of a Filesystem volume', async () => {
      const { api, rpc, bindClaim, claimRequest } = setup();
      await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 1000 } });
      bindClaim('pvc-1', 1000);
      const res = await rpc('ControllerExpandVolume', { volume_id: 'pvc-1', capacity_range: { required_bytes: 4096 }, volume_capability: CAP });
      expect(res).to.deep.equal({ capacity_bytes: 4096, node_expansion_required: true });
      expect(claimRequest('pvc-1')).to.equal('4096');
      // A repeat finds the claim grown: no write.
      const writes = api.writes().length;
      expect(await rpc('ControllerExpandVolume', { volume_id: 'pvc-1', capacity_range: { required_bytes: 4096 } })).to.deep.equal(res);
      expect(api.writes()).to.have.length(writes);
    });

    it('needs no node expansion for a Block volume and refuses to expand a Filesystem volume as a block device', async () => {
      const { rpc, bindClaim } = setup();
      await rpc('CreateVolume', { name: 'pvc-raw', volume_capabilities: [BLOCK], capacity_range: { required_bytes: 1000 } });
      bindClaim('pvc-raw', 1000);
      expect(await rpc('ControllerExpandVolume', { volume_id: 'pvc-raw', capacity_range: { required_bytes: 2000 }, volume_capability: BLOCK })).to.deep.equal({ capacity_bytes: 2000, node_expansion_required: false });
      await rpc('CreateVolume', { name: 'pvc-fs', volume_capabilities: [CAP], capacity_range: { required_bytes: 1000 } });
      bindClaim('pvc-fs', 1000);
      expect(await codeOf(rpc('ControllerExpandVolume', { volume_id: 'pvc-fs', capacity_range: { required_bytes: 2000 }, volume_capability: BLOCK }))).to.equal(status.INVALID_ARGUMENT);
    });

    it('answers unknown and foreign volumes with NOT_FOUND and bad input with the spec codes, writing nothing', async () => {
      const { api, rpc } = setup();
      api.seed({ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name: 'theirs', namespace: NS, labels: { 'csi-driver/tenant': 'other' } }, spec: { source: { blank: {} } } });
      expect(await codeOf(rpc('ControllerExpandVolume', { volume_id: 'theirs', capacity_range: { required_bytes: 2000 } }))).to.equal(status.NOT_FOUND);
      expect(await codeOf(rpc('ControllerExpandVolume', { volume_id: 'missing', capacity_range: { required_bytes: 2000 } }))).to.equal(status.NOT_FOUND);
      expect(await codeOf(rpc('ControllerExpandVolume', { capacity_range: { required_bytes: 2000 } }))).to.equal(status.INVALID_ARGUMENT);
      expect(await codeOf(rpc('ControllerExpandVolume', { volume_id: 'theirs' }))).to.equal(status.INVALID_ARGUMENT);
      expect(api.writes()).to.deep.equal([]);
    });

    it('refuses to shrink a volume with OUT_OF_RANGE', async () => {
      const { rpc, bindClaim, claimRequest } = setup();
      await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 4000 } });
      bindClaim('pvc-1', 4000);
      expect(await codeOf(rpc('ControllerExpandVolume', { volume_id: 'pvc-1', capacity_range: { required_bytes: 1000, limit_bytes: 2000 } }))).to.equal(status.OUT_OF_RANGE);
      expect(claimRequest('pvc-1')).to.equal('4000');
    });

    it('reports DEADLINE_EXCEEDED while the infra storage has not grown the claim', async () => {
      const { rpc, bindClaim, stopStorage } = setup();
      await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 1000 } });
      bindClaim('pvc-1', 1000);
      stopStorage();
      expect(await codeOf(rpc('ControllerExpandVolume', { volume_id: 'pvc-1', capacity_range: { required_bytes: 2000 } }))).to.equal(status.DEADLINE_EXCEEDED);
    });

    it('says FAILED_PRECONDITION when the infra StorageClass does not allow expansion', async () => {
      const { api, rpc, bindClaim } = setup();
      await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 1000 } });
      bindClaim('pvc-1', 1000);
      const serve = api.request.bind(api);
      // The apiserver's PersistentVolumeClaimResize admission, refusing a claim whose class lacks allowVolumeExpansion.
      const refusal = { code: 403, reason: 'Forbidden', message: 'persistentvolumeclaims "pvc-1" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize' };
      api.request = <T>(req: RestRequest): Promise<T> => (req.method === 'PATCH' ? Promise.reject(new ApiError(403, req.method, req.path, refusal)) : serve<T>(req));
      const err = (await rejection(rpc('ControllerExpandVolume', { volume_id: 'pvc-1', capacity_range: { required_bytes: 2000 } }), 'the RPC')) as CsiError;
      expect(err.code).to.equal(status.FAILED_PRECONDITION);
      expect(err.message).to.match(/^volume pvc-1 cannot grow: its infra StorageClass does not set allowVolumeExpansion \(.*must support resize\)$/);
    });

    it('waits for the claim of a volume created moments ago to be bound', async () => {
      const { rpc, bindClaim } = setup();
      await rpc('CreateVolume', { name: 'pvc-1', volume_capabilities: [CAP], capacity_range: { required_bytes: 1000 } });
      const expanding = rpc('ControllerExpandVolume', { volume_id: 'pvc-1', capacity_range: { required_bytes: 2000 } });
      setTimeout(() => {
        bindClaim('pvc-1', 1000);
      }, 50);
      expect(await expanding).to.deep.equal({ capacity_bytes: 2000, node_expansion_required: true });
    });
  });
});
