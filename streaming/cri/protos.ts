// The CRI (Kubernetes' Container Runtime Interface, runtime.v1) as the kubelet and crictl speak it, loaded from the
// api.proto pinned beside this module: the RuntimeService and ImageService a node runtime serves on its socket.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_DIR = fileURLToPath(new URL('proto/', import.meta.url));
export const RUNTIME_SERVICE = 'runtime.v1.RuntimeService';
export const IMAGE_SERVICE = 'runtime.v1.ImageService';

// keepCase: messages use the proto's field names (pod_sandbox_id); int64 (created_at in ns, exit codes are int32)
// as strings so nanosecond timestamps stay exact; enums as their names (CONTAINER_RUNNING); defaults filled in so
// readers see empty maps and lists rather than undefined.
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

export interface CriServices {
  RuntimeService: grpc.ServiceDefinition;
  ImageService: grpc.ServiceDefinition;
}

let services: CriServices | undefined;

/** The two CRI services, loaded once. */
export function criServices(): CriServices {
  if (!services) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(`${PROTO_DIR}api.proto`, LOADER_OPTIONS)) as unknown as {
      runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } };
    };
    services = { RuntimeService: pkg.runtime.v1.RuntimeService.service, ImageService: pkg.runtime.v1.ImageService.service };
  }
  return services;
}

/** Client constructors of the same services, for tests that speak to a runtime as the kubelet or crictl does. */
export function criClients(): { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } {
  const { RuntimeService, ImageService } = criServices();
  return {
    RuntimeService: grpc.makeGenericClientConstructor(RuntimeService, 'RuntimeService'),
    ImageService: grpc.makeGenericClientConstructor(ImageService, 'ImageService'),
  };
}
