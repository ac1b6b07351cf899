// The CSI protocol as served: csi.proto from the CSI spec's Go module (e2e/tools/csi-spec puts it in the tools
// cache; an image ships it beside the program), loaded at runtime with protobufjs, never retyped by hand.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The CSI spec release csi.proto comes from: the one csi-sanity and the CSI sidecars are built against. */
export const CSI_SPEC_VERSION = 'v1.13.0';

/** Where `make tools` leaves csi.proto for this spec release (KVCLOUD_CACHE, else ~/.cache/kvcloud). */
export function defaultCsiProtoPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud'), 'bin', `csi-spec-${CSI_SPEC_VERSION}`, 'csi.proto');
}

export interface CsiServices {
  Identity: ServiceDefinition;
  Controller: ServiceDefinition;
  Node: ServiceDefinition;
}

export function loadCsiServices(protoPath: string): CsiServices {
  let definition;
  try {
    // keepCase: messages travel with csi.proto's own field names (volume_id); enums as their names; int64 sizes as
    // numbers (exact up to 8 PiB); oneofs name the member that is set (access_type: 'mount').
    definition = loadSync(protoPath, { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true });
  } catch (err) {
    throw new Error(`load the CSI spec from ${protoPath} (run \`make tools\`, or pass --csi-proto): ${(err as Error).message}`, { cause: err });
  }
  const service = (name: string): ServiceDefinition => {
    const s = definition[`csi.v1.${name}`];
    if (!s || !('CreateVolume' in s || 'Probe' in s || 'NodeGetInfo' in s)) throw new Error(`${protoPath}: no service csi.v1.${name}`);
    return s;
  };
  return { Identity: service('Identity'), Controller: service('Controller'), Node: service('Node') };
}
