// For the controller's unit tests: a fake infra apiserver serving the kinds a test needs, and the Controller
// service's RPCs against it, called as the gRPC server would call them.
import { pino } from 'pino';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { FakeApiServer, type FakeResource } from '../../lib/testing/fake-apiserver.js';
import { rejection } from '../../lib/testing/rejection.js';
import type { CsiError } from '../status.js';
import { ControllerService, type ControllerOptions } from './controller.js';

/** The tenant's infra namespace and labels in the controller's tests. */
export const NS = 'acme-infra';
export const LABELS = { 'csi-driver/tenant': 'acme' };
/** A mount and a raw block volume capability, single-node writer. */
export const CAP = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
export const BLOCK = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
export const DATA_VOLUME_RESOURCE: FakeResource = { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', resource: 'datavolumes', namespaced: true };

/** The gRPC status code an RPC failed with. */
export const codeOf = async (p: Promise<unknown>): Promise<number> => ((await rejection(p, 'the RPC')) as CsiError).code;

export interface FakeInfra {
  api: FakeApiServer;
  mapper: RestMapper;
  rpc: (name: string, req: object) => Promise<Record<string, unknown>>;
}

export function fakeInfra(resources: FakeResource[], opts: Omit<ControllerOptions, 'infra' | 'log'>): FakeInfra {
  const api = new FakeApiServer();
  const mapper = new RestMapper(api);
  for (const r of resources) {
    api.serve(r);
    mapper.register(r);
  }
  const rpcs = new ControllerService({ ...opts, infra: new Client({ transport: api, mapper, fieldManager: 'kvcloud-csi' }), log: pino({ level: 'silent' }) }).rpcs();
  return {
    api,
    mapper,
    rpc: async (name, req) => {
      const fn = rpcs[name];
      if (!fn) throw new Error(`no rpc ${name}`);
      return (await fn(req as never)) as Record<string, unknown>;
    },
  };
}
