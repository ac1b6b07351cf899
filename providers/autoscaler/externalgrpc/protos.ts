// The externalgrpc protocol as cluster-autoscaler publishes it, loaded from the pinned .proto files beside this
// module: the CloudProvider service for the server (and the tests' clients), and Kubernetes' v1.Node message,
// because NodeGroupTemplateNodeInfo answers with a Node serialized the way Go's v1.Node#Marshal writes it.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const PROTO_DIR = fileURLToPath(new URL('proto/', import.meta.url));
export const SERVICE_NAME = 'clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider';

// keepCase: the JSON names of the messages are the proto's own (providerID, minSize); longs as numbers (no int64 in
// the messages we read); enums as their names (instanceRunning).
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

let service: grpc.ServiceDefinition | undefined;

/** The CloudProvider service definition, loaded once. */
export function cloudProviderService(): grpc.ServiceDefinition {
  if (!service) {
    const definition = protoLoader.loadSync(`${PROTO_DIR}externalgrpc.proto`, LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      clusterautoscaler: { cloudprovider: { v1: { externalgrpc: { CloudProvider: grpc.ServiceClientConstructor } } } };
    };
    service = pkg.clusterautoscaler.cloudprovider.v1.externalgrpc.CloudProvider.service;
  }
  return service;
}

/** A client constructor of the same service, for tests and tools that speak to a server as cluster-autoscaler does. */
export function cloudProviderClient(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(cloudProviderService(), 'CloudProvider');
}

let nodeType: protobuf.Type | undefined;

function node(): protobuf.Type {
  if (!nodeType) {
    const root = new protobuf.Root();
    // Kubernetes' files import each other by Go module path; they sit under the same paths here.
    root.resolvePath = (_origin, target) => (target.startsWith('k8s.io/') ? `${PROTO_DIR}${target}` : target);
    root.loadSync(`${PROTO_DIR}k8s.io/api/core/v1/generated.proto`, { keepCase: true });
    nodeType = root.lookupType('k8s.io.api.core.v1.Node');
  }
  return nodeType;
}

/**
 * A v1.Node in Kubernetes' protobuf encoding. `obj` uses the proto's field names, which for the fields a template
 * node has are the JSON names, except that a Quantity is the message { string: "4" }.
 */
export function encodeNode(obj: Record<string, unknown>): Uint8Array {
  const type = node();
  const problem = type.verify(obj);
  if (problem) throw new Error(`encode v1.Node: ${problem}`);
  return type.encode(type.fromObject(obj)).finish();
}

export function decodeNode(bytes: Uint8Array): Record<string, unknown> {
  const type = node();
  return type.toObject(type.decode(bytes), { longs: Number });
}
