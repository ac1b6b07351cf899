// A small etcd v3 client over gRPC with mTLS, for the calls the DataStore driver makes. gRPC rather than etcd's
// JSON gateway because etcd authenticates a client certificate's CN as the etcd user only on its gRPC port:
// Kamaji's DataStores hand the operator a root client certificate, not a password, so the gateway would act
// unauthenticated. Endpoints are tried in order and the next is used when one is unreachable.
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('etcd.proto', import.meta.url));

export interface EtcdTLS {
  ca: Buffer;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

export interface EtcdClientOptions {
  /** "host:port", with or without an http(s):// scheme, as DataStore endpoints are written. */
  endpoints: string[];
  tls?: EtcdTLS | undefined;
  /** For etcds that authenticate by password; its token travels as the "token" metadata. */
  basicAuth?: { username: string; password: string } | undefined;
  /** Per-call deadline. */
  timeoutMs?: number;
}

type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;
type ServiceClient = grpc.Client & Record<string, Unary>;
type ServiceCtor = new (address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions) => ServiceClient;

let services: { kv: ServiceCtor; auth: ServiceCtor } | undefined;

function loadServices(): { kv: ServiceCtor; auth: ServiceCtor } {
  if (services) return services;
  const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: { KV: ServiceCtor; Auth: ServiceCtor } };
  services = { kv: pkg.etcdserverpb.KV, auth: pkg.etcdserverpb.Auth };
  return services;
}

/** An etcd RPC failure with etcd's own message ("etcdserver: user name already exists"). */
export class EtcdError extends Error {
  override readonly name = 'EtcdError';
  constructor(
    readonly method: string,
    readonly code: grpc.status,
    readonly details: string,
    endpoint: string,
  ) {
    super(`etcd ${method} at ${endpoint}: ${details || grpc.status[code]}`);
  }
}

export function stripScheme(endpoint: string): string {
  return endpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}

export class EtcdClient {
  private readonly endpoints: string[];
  private readonly clients = new Map<string, { kv: ServiceClient; auth: ServiceClient }>();
  private token: string | undefined;
  private preferred = 0;

  constructor(private readonly opts: EtcdClientOptions) {
    if (opts.endpoints.length === 0) throw new Error('etcd client needs at least one endpoint');
    this.endpoints = opts.endpoints.map(stripScheme);
  }

  kv(method: 'Range' | 'Put' | 'DeleteRange', req: object): Promise<unknown> {
    return this.call('kv', method, req);
  }

  auth(method: string, req: object): Promise<unknown> {
    return this.call('auth', method, req);
  }

  close(): void {
    for (const c of this.clients.values()) {
      c.kv.close();
      c.auth.close();
    }
    this.clients.clear();
  }

  private clientsFor(endpoint: string): { kv: ServiceClient; auth: ServiceClient } {
    let c = this.clients.get(endpoint);
    if (!c) {
      const { kv, auth } = loadServices();
      const [credentials, options] = this.channelFor(endpoint);
      c = { kv: new kv(endpoint, credentials, options), auth: new auth(endpoint, credentials, options) };
      this.clients.set(endpoint, c);
    }
    return c;
  }

  // Node refuses an IP address as TLS server name (SNI), which grpc-js would send for an IP endpoint: send a
  // neutral name instead and verify the certificate against the real address ourselves.
  private channelFor(endpoint: string): [grpc.ChannelCredentials, grpc.ChannelOptions] {
    const tls = this.opts.tls;
    if (!tls) return [grpc.credentials.createInsecure(), {}];
    const host = endpoint.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (!isIP(host)) return [grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null), {}];
    const credentials = grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null, {
      checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert),
    });
    return [credentials, { 'grpc.ssl_target_name_override': 'etcd', 'grpc.default_authority': endpoint }];
  }

  private async call(service: 'kv' | 'auth', method: string, req: object): Promise<unknown> {
    let lastError: unknown;
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.preferred + i) % this.endpoints.length;
      const endpoint = this.endpoints[index] ?? '';
      try {
        const res = await this.callWithToken(endpoint, service, method, req);
        this.preferred = index;
        return res;
      } catch (err) {
        lastError = err;
        if (!(err instanceof EtcdError) || err.code !== grpc.status.UNAVAILABLE) throw err;
      }
    }
    throw lastError;
  }

  // Password tokens expire (etcd's simple tokens after 5 minutes idle): re-authenticate once when rejected.
  private async callWithToken(endpoint: string, service: 'kv' | 'auth', method: string, req: object): Promise<unknown> {
    if (this.opts.basicAuth && !this.token) this.token = await this.authenticate(endpoint);
    try {
      return await this.unary(endpoint, service, method, req, this.token);
    } catch (err) {
      if (!this.opts.basicAuth || !(err instanceof EtcdError) || !err.details.includes('invalid auth token')) throw err;
      this.token = await this.authenticate(endpoint);
      return this.unary(endpoint, service, method, req, this.token);
    }
  }

  private async authenticate(endpoint: string): Promise<string> {
    const creds = this.opts.basicAuth;
    if (!creds) throw new Error('no basicAuth configured');
    const res = (await this.unary(endpoint, 'auth', 'Authenticate', { name: creds.username, password: creds.password }, undefined)) as { token: string };
    return res.token;
  }

  private unary(endpoint: string, service: 'kv' | 'auth', method: string, req: object, token: string | undefined): Promise<unknown> {
    const client = this.clientsFor(endpoint)[service];
    const fn = client[method];
    if (!fn) throw new Error(`etcd ${service} has no method ${method}`);
    const md = new grpc.Metadata();
    if (token) md.set('token', token);
    const deadline = new Date(Date.now() + (this.opts.timeoutMs ?? 10_000));
    return new Promise((resolve, reject) => {
      fn.call(client, req, md, { deadline }, (err, res) => {
        if (err) reject(new EtcdError(method, err.code, err.details, endpoint));
        else resolve(res);
      });
    });
  }
}
