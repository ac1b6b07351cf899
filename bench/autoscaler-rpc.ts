// Benchmark: the latency of kvcloud's externalgrpc server (providers/autoscaler) at 100 node groups against a raw
// grpc-js server of the same service, in one run. Ours answers from the in-memory apiserver and informer cache of
// the provider's unit tests (MachineDeployments with three Machines each, a KubevirtMachineTemplate with capacity
// each); the raw server answers every call with the response ours gave to the same RPC, so both put messages of the
// same size on the wire. Both serve mutual TLS as cluster-autoscaler dials it, and one client takes turns between
// them, sequentially, as cluster-autoscaler calls. Prints p50/p99 per RPC and the ratio ours/raw.
// Run: tsx bench/autoscaler-rpc.ts [groups=100] [calls=2000]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Env, machine, machineDeployment, machineTemplate, NS } from '../providers/autoscaler/env.testdata.js';
import { cloudProviderService } from '../providers/autoscaler/externalgrpc/protos.js';
import { startServer } from '../providers/autoscaler/server.js';
import { dialExternalGrpc, externalGrpcPki, type ExternalGrpcCall } from '../e2e/harness/autoscaler-tenant.js';

const GROUPS = Number(process.argv[2] ?? 100);
const CALLS = Number(process.argv[3] ?? 2000);
const MACHINES_PER_GROUP = 3;
const WARMUP = 200;
// Ours and raw take turns in blocks, so a slow moment of the machine falls on both alike.
const BLOCKS = 10;

const group = (i: number): string => `pool-${String(i % GROUPS).padStart(3, '0')}`;
const groupId = (i: number): string => `MachineDeployment/${NS}/${group(i)}`;
const vm = (i: number): string => `${group(i)}-m${String(Math.floor(i / GROUPS) % MACHINES_PER_GROUP)}`;

// What cluster-autoscaler asks in a loop (NodeGroupForNode for every node) and when it scales up. The i-th call
// names the i-th group or node, so no answer is simply the previous one again.
const RPCS: { method: string; request: (i: number) => object }[] = [
  { method: 'NodeGroups', request: () => ({}) },
  { method: 'NodeGroupForNode', request: (i) => ({ node: { providerID: `kubevirt://${vm(i)}`, name: vm(i) } }) },
  { method: 'NodeGroupTargetSize', request: (i) => ({ id: groupId(i) }) },
  { method: 'NodeGroupTemplateNodeInfo', request: (i) => ({ id: groupId(i) }) },
  { method: 'NodeGroupIncreaseSize', request: (i) => ({ id: groupId(i), delta: 1 }) },
];

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const ms = (v: number): string => `${v.toFixed(3)} ms`;

async function timeCalls(call: ExternalGrpcCall, method: string, request: (i: number) => object, from: number, count: number, into: number[]): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const req = request(i);
    const t = performance.now();
    await call(method, req);
    into.push(performance.now() - t);
  }
}

const env = new Env();
const pki = await externalGrpcPki();
const tls = { clientCA: Buffer.from(pki.ca), cert: Buffer.from(pki.serving.cert), key: Buffer.from(pki.serving.key) };
// Ours reads its certificate from files, as it does from a mounted Secret.
const certDir = await mkdtemp(join(tmpdir(), 'autoscaler-rpc-bench-'));
const tlsFiles = { certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key'), clientCAFile: join(certDir, 'ca.crt') };
await Promise.all([writeFile(tlsFiles.certFile, tls.cert), writeFile(tlsFiles.keyFile, tls.key), writeFile(tlsFiles.clientCAFile, tls.clientCA)]);
const service = cloudProviderService();
const raw = new grpc.Server();
try {
  const objects = [];
  for (let g = 0; g < GROUPS; g++) {
    objects.push(machineDeployment(group(g), { replicas: MACHINES_PER_GROUP, min: '0', max: '1000000' }));
    objects.push(machineTemplate(`${group(g)}-template`, { cpu: '4', memory: '8Gi' }));
    for (let m = 0; m < MACHINES_PER_GROUP; m++) {
      const name = vm(g + m * GROUPS);
      objects.push(machine(name, group(g), { providerID: `kubevirt://${name}`, node: name }));
    }
  }
  await env.seed(...objects);
  const ours = await startServer({ address: '127.0.0.1:0', tls: tlsFiles, provider: env.provider, metrics: env.metrics, log: env.log });
  const oursClient = dialExternalGrpc(ours.port, pki);

  // The raw server's answers: ours', captured once per RPC; their encoded size is what both send.
  const canned = new Map<string, Record<string, unknown>>();
  for (const { method, request } of RPCS) canned.set(method, await oursClient.call(method, request(0)));
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const { method } of RPCS) {
    const response = canned.get(method) ?? {};
    implementation[method] = (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, response);
    };
  }
  raw.addService(service, implementation);
  const rawPort = await new Promise<number>((resolve, reject) => {
    raw.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(tls.clientCA, [{ cert_chain: tls.cert, private_key: tls.key }], true), (err, port) => {
      if (err) reject(err);
      else resolve(port);
    });
  });
  const rawClient = dialExternalGrpc(rawPort, pki);

  console.log(`${String(GROUPS)} node groups, ${String(GROUPS * MACHINES_PER_GROUP)} Machines; ${String(CALLS)} sequential calls per RPC and server, mutual TLS, in ${String(BLOCKS)} alternating blocks`);
  console.log(`${'RPC'.padEnd(26)} ${'response'.padStart(9)}   ${'ours p50'.padStart(10)} ${'ours p99'.padStart(10)}   ${'raw p50'.padStart(10)} ${'raw p99'.padStart(10)}   p50 ratio  p99 ratio`);
  const ratios: number[] = [];
  for (const { method, request } of RPCS) {
    const bytes = service[method]?.responseSerialize(canned.get(method)).length ?? 0;
    await timeCalls(oursClient.call, method, request, 0, WARMUP, []);
    await timeCalls(rawClient.call, method, request, 0, WARMUP, []);
    const oursMs: number[] = [];
    const rawMs: number[] = [];
    const block = Math.ceil(CALLS / BLOCKS);
    for (let b = 0; b < BLOCKS; b++) {
      await timeCalls(oursClient.call, method, request, WARMUP + b * block, block, oursMs);
      await timeCalls(rawClient.call, method, request, WARMUP + b * block, block, rawMs);
    }
    oursMs.sort((a, b) => a - b);
    rawMs.sort((a, b) => a - b);
    const [o50, o99, r50, r99] = [quantile(oursMs, 0.5), quantile(oursMs, 0.99), quantile(rawMs, 0.5), quantile(rawMs, 0.99)];
    ratios.push(o50 / r50);
    console.log(
      `${method.padEnd(26)} ${`${String(bytes)} B`.padStart(9)}   ${ms(o50).padStart(10)} ${ms(o99).padStart(10)}   ${ms(r50).padStart(10)} ${ms(r99).padStart(10)}   ${(o50 / r50).toFixed(2).padStart(9)}  ${(o99 / r99).toFixed(2).padStart(9)}`,
    );
  }
  const geomean = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
  console.log(`geometric mean of the p50 ratios ours/raw: ${geomean.toFixed(2)}`);
  oursClient.close();
  rawClient.close();
  await ours.stop();
} finally {
  raw.forceShutdown();
  await env.close();
  await rm(certDir, { recursive: true, force: true });
}
