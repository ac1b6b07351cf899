// Benchmark: exec stdout and port-forward throughput of kvcloud's streaming server (streaming/) over SPDY and
// WebSocket, against a raw loopback TCP copy of the same bytes (the ratio; goal >= 0.80) and against the Go
// library's streaming server (k8s.io/cri-streaming behind e2e/tools/cri-streaming-baseline; goal: ahead of it),
// all measured in one run by the same client code (bench/streaming-clients.ts). Each server runs in a process of
// its own with the same process backend; the exec command (dd from /dev/zero) and the forwarded port's source
// (bench/streaming-source.ts) are the same for all. Rounds interleave the contenders after a warm-up round; the
// medians are printed. CPU-bound: run it on an otherwise idle machine.
// Run: tsx bench/streaming-throughput.ts [MiB per transfer=256] [rounds=5] [--cpu-prof=DIR (kvcloud's server)]
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { buildTool, cacheDir, executable } from '../localcloud/binaries.js';
import { parseVersionsEnv, toolsDir } from '../localcloud/versions.js';
import { criClients } from '../streaming/cri/protos.js';
import {
  execOverSpdy,
  execOverWebSocket,
  portForwardOverSpdy,
  portForwardOverTunnel,
  portForwardOverWebSocketChannels,
  rawRead,
  type Transfer,
} from './streaming-clients.js';
import type { ServerAsk, ServerReady } from './streaming-kvcloud-server.js';

const MiB = 1024 * 1024;
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const SIZE_MIB = Number(positional[0] ?? 256);
const ROUNDS = Number(positional[1] ?? 5);
const CPU_PROF_DIR = process.argv.find((a) => a.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length);
if (!Number.isInteger(SIZE_MIB) || SIZE_MIB <= 0 || !Number.isInteger(ROUNDS) || ROUNDS <= 0) {
  throw new Error('usage: streaming-throughput.ts [MiB per transfer] [rounds] [--cpu-prof=DIR]');
}
const BYTES = SIZE_MIB * MiB;
/** 64 KiB writes, a pipe's capacity: the command costs both servers as little as it can. */
const EXEC_CMD = ['dd', 'if=/dev/zero', 'bs=64K', `count=${String(SIZE_MIB * 16)}`, 'status=none'];
const BASELINE = 'cri-streaming-baseline';
const STARTUP_TIMEOUT_MS = 60_000;
const TSX = ['--import', import.meta.resolve('tsx')];

/** The Go baseline, built on first use into the tools cache (e2e/tools/cri-streaming-baseline); fails loudly. */
function baselineBinary(): { path: string; version: string } {
  const version = parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8')).get('CRI_STREAMING_VERSION');
  if (version === undefined) throw new Error('e2e/tools/versions.env has no CRI_STREAMING_VERSION');
  buildTool(BASELINE);
  const path = join(cacheDir(), 'bin', `${BASELINE}-${version}`, BASELINE);
  if (!executable(path)) throw new Error(`the Go baseline was not built: ${path} is missing`);
  return { path, version };
}

function withTimeout<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not start within ${String(STARTUP_TIMEOUT_MS / 1000)}s`));
    }, STARTUP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** A TypeScript child on the IPC channel; resolves with its first message. */
async function forkChild(file: string, args: string[], execArgv: string[] = []): Promise<{ child: ChildProcess; first: unknown }> {
  const child = fork(resolve(import.meta.dirname, file), args, { execArgv: [...TSX, ...execArgv] });
  const first = await withTimeout(
    file,
    new Promise((resolveFirst, reject) => {
      child.once('message', resolveFirst);
      child.once('exit', (code) => {
        reject(new Error(`${file} exited with ${String(code)} before it was ready`));
      });
    }),
  );
  return { child, first };
}

/** Ends an IPC child the way it exits cleanly (writing a CPU profile if asked to). */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolveExit) => {
    child.once('exit', () => {
      resolveExit();
    });
  });
  if (child.connected) child.disconnect();
  else child.kill('SIGTERM');
  const force = setTimeout(() => {
    child.kill('SIGKILL');
  }, 10_000);
  return exited.finally(() => {
    clearTimeout(force);
  });
}

/** kvcloud's server: URLs from its process over IPC. */
function kvcloudURLs(child: ChildProcess): (request: ServerAsk) => Promise<string> {
  let nextId = 0;
  const waiting = new Map<number, (url: string) => void>();
  child.on('message', (m: { id?: number; url?: string }) => {
    if (m.id !== undefined && m.url !== undefined) waiting.get(m.id)?.(m.url);
    if (m.id !== undefined) waiting.delete(m.id);
  });
  return (request) =>
    new Promise((resolveURL) => {
      const id = nextId++;
      waiting.set(id, resolveURL);
      child.send({ ...request, id });
    });
}

/** The Go baseline: its stream server's URLs through its CRI socket, as a kubelet or crictl gets them. */
async function startBaseline(binary: string, dir: string): Promise<{ process: ChildProcess; cri: grpc.Client }> {
  const log = join(dir, 'baseline.log');
  const socket = join(dir, 'cri.sock');
  const child = spawn(binary, ['-cri-socket', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(createWriteStream(log));
  const ready = await withTimeout(
    BASELINE,
    new Promise<string>((resolveLine, reject) => {
      createInterface({ input: child.stdout }).once('line', resolveLine);
      child.once('exit', (code) => {
        reject(new Error(`${BASELINE} exited with ${String(code)}; see ${log}`));
      });
    }),
  );
  if ((JSON.parse(ready) as { criSocket?: string }).criSocket !== socket) throw new Error(`${BASELINE}: unexpected ready line ${ready}`);
  const { RuntimeService } = criClients();
  return { process: child, cri: new RuntimeService(`unix:${socket}`, grpc.credentials.createInsecure()) };
}

function criURL(cri: grpc.Client, method: 'Exec' | 'PortForward', request: object): Promise<string> {
  const call = (cri as unknown as Record<string, (r: object, cb: (err: grpc.ServiceError | null, res: { url: string }) => void) => void>)[method];
  return new Promise((resolveURL, reject) => {
    call?.call(cri, request, (err, res) => {
      if (err) reject(err);
      else resolveURL(res.url);
    });
  });
}

type Contender = () => Promise<Transfer>;
interface Scenario {
  name: string;
  raw: 'exec copy' | 'relay';
  kvcloud: Contender;
  /** Undefined where the Go library does not speak the protocol; `goNote` says why. */
  go?: Contender;
  goNote?: string;
}

/** CPU time (user + system) a process has used so far, from /proc in clock ticks of 10 ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime and stime, fields 14 and 15 of stat(5)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const mibPerS = (t: Transfer): number => t.bytes / MiB / (t.ms / 1000);
const fmt = (xs: number[] | undefined): string => (xs ? `${median(xs).toFixed(0)} [${Math.min(...xs).toFixed(0)}..${Math.max(...xs).toFixed(0)}]` : 'n/a');
/** Seconds of the serving process's CPU per GiB carried, over all rounds. */
const secondsPerGiB = (cpu: number[]): number => cpu.reduce((a, b) => a + b, 0) / 1000 / ((cpu.length * BYTES) / (1024 * MiB));
const cpuPerGiB = (cpu: number[] | undefined): string => (cpu ? secondsPerGiB(cpu).toFixed(2) : 'n/a');

const baseline = baselineBinary();
const dir = mkdtempSync(join(tmpdir(), 'kvcloud-bench-streaming-'));
const children: ChildProcess[] = [];
let goCri: grpc.Client | undefined;
let finished = false;
try {
  const source = await forkChild('streaming-source.ts', [String(BYTES)]);
  children.push(source.child);
  const sourcePort = (source.first as { port: number }).port;
  const kvcloud = await forkChild('streaming-kvcloud-server.ts', [String(sourcePort)], CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []);
  children.push(kvcloud.child);
  const kvReady = kvcloud.first as ServerReady;
  const kvURL = kvcloudURLs(kvcloud.child);
  const go = await startBaseline(baseline.path, dir);
  children.push(go.process);
  goCri = go.cri;
  const cri = go.cri;
  const goExec = () => criURL(cri, 'Exec', { container_id: 'bench', cmd: EXEC_CMD, stdout: true });
  const goPortForward = () => criURL(cri, 'PortForward', { pod_sandbox_id: 'bench', port: [sourcePort] });
  const kvExec = () => kvURL({ kind: 'exec', cmd: EXEC_CMD });
  const kvPortForward = () => kvURL({ kind: 'portforward' });

  const raws: Record<Scenario['raw'] | 'direct', Contender> = {
    'exec copy': () => rawRead(kvReady.rawExecPort, BYTES, `${JSON.stringify(EXEC_CMD)}\n`),
    relay: () => rawRead(kvReady.rawRelayPort, BYTES),
    direct: () => rawRead(sourcePort, BYTES),
  };
  const scenarios: Scenario[] = [
    { name: 'exec stdout, SPDY v4', raw: 'exec copy', kvcloud: async () => execOverSpdy(await kvExec(), BYTES), go: async () => execOverSpdy(await goExec(), BYTES) },
    {
      name: 'exec stdout, WebSocket v5 (Go: v4)',
      raw: 'exec copy',
      kvcloud: async () => execOverWebSocket(await kvExec(), BYTES, 'v5.channel.k8s.io'),
      go: async () => execOverWebSocket(await goExec(), BYTES, 'v4.channel.k8s.io'),
    },
    {
      name: 'port-forward, SPDY',
      raw: 'relay',
      kvcloud: async () => portForwardOverSpdy(await kvPortForward(), sourcePort, BYTES),
      go: async () => portForwardOverSpdy(await goPortForward(), sourcePort, BYTES),
    },
    {
      name: 'port-forward, WebSocket tunnel',
      raw: 'relay',
      kvcloud: async () => portForwardOverTunnel(await kvPortForward(), sourcePort, BYTES),
      goNote: 'the library serves no SPDY/3.1+portforward.k8s.io tunnel (the apiserver turns it into SPDY)',
    },
    {
      name: 'port-forward, WebSocket v4 channels',
      raw: 'relay',
      kvcloud: async () => portForwardOverWebSocketChannels(`${await kvPortForward()}?port=${String(sourcePort)}`, BYTES),
      go: async () => portForwardOverWebSocketChannels(await goPortForward(), BYTES),
    },
  ];

  // Every contender once per round, in an order that alternates between rounds, so drift hits all alike. The
  // serving process's CPU time is taken around each transfer (the raw copies are served by kvcloud's process).
  const kvPid = kvcloud.child.pid ?? 0;
  const goPid = go.process.pid ?? 0;
  const contenders: { key: string; run: Contender; pid: number }[] = [
    ...Object.entries(raws).map(([k, run]) => ({ key: `raw ${k}`, run, pid: k === 'direct' ? (source.child.pid ?? 0) : kvPid })),
    ...scenarios.flatMap((s) => [{ key: `kvcloud ${s.name}`, run: s.kvcloud, pid: kvPid }, ...(s.go ? [{ key: `go ${s.name}`, run: s.go, pid: goPid }] : [])]),
  ];
  const series = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  for (let round = 0; round <= ROUNDS; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const { key, run, pid } of order) {
      const cpuBefore = cpuMs(pid);
      const speed = mibPerS(await run());
      const cpuUsed = cpuMs(pid) - cpuBefore;
      if (round === 0) continue; // the warm-up round: JITs, caches, connection setup paths
      series.set(key, [...(series.get(key) ?? []), speed]);
      cpu.set(key, [...(cpu.get(key) ?? []), cpuUsed]);
    }
    if (round > 0) process.stderr.write(`round ${String(round)}/${String(ROUNDS)} done\n`);
  }

  console.log(`\nstreaming throughput: ${String(SIZE_MIB)} MiB per transfer, ${String(ROUNDS)} rounds after a warm-up, MiB/s as median [min..max]; ${String(availableParallelism())} CPUs`);
  const raw = (k: string) => `${fmt(series.get(`raw ${k}`))} (CPU ${cpuPerGiB(cpu.get(`raw ${k}`))} s/GiB)`;
  console.log(`raw loopback TCP in kvcloud's server process, no protocol: command stdout copied into a connection ${raw('exec copy')} | relay to the port ${raw('relay')}; the port read directly ${raw('direct')}`);
  const col = (s: string, w: number) => s.padEnd(w);
  console.log(`${col('', 38)}${col('kvcloud', 18)}${col(`Go cri-streaming ${baseline.version}`, 26)}${col('kvcloud/raw', 13)}${col('kvcloud/Go', 12)}${col('goal', 9)}${col('server CPU s/GiB kvcloud | Go', 31)}kvcloud CPU/raw`);
  for (const s of scenarios) {
    const kv = series.get(`kvcloud ${s.name}`) ?? [];
    const goSeries = series.get(`go ${s.name}`);
    const raw = median(series.get(`raw ${s.raw}`) ?? []);
    const vsRaw = median(kv) / raw;
    const vsGo = goSeries ? median(kv) / median(goSeries) : undefined;
    const met = vsRaw >= 0.8 && (vsGo === undefined || vsGo > 1);
    const cpus = `${cpuPerGiB(cpu.get(`kvcloud ${s.name}`))} | ${cpuPerGiB(cpu.get(`go ${s.name}`))}`;
    // The protocol's CPU per byte against the raw copy's, both in kvcloud's process: steadier than the
    // throughput ratios when other work shares the cores.
    const cpuVsRaw = secondsPerGiB(cpu.get(`kvcloud ${s.name}`) ?? []) / secondsPerGiB(cpu.get(`raw ${s.raw}`) ?? []);
    console.log(
      `${col(s.name, 38)}${col(fmt(kv), 18)}${col(goSeries ? fmt(goSeries) : 'n/a', 26)}${col(vsRaw.toFixed(2), 13)}${col(vsGo?.toFixed(2) ?? 'n/a', 12)}${col(met ? 'met' : 'NOT met', 9)}${col(cpus, 31)}${cpuVsRaw.toFixed(2)}`,
    );
  }
  for (const s of scenarios) if (s.goNote) console.log(`Go n/a for "${s.name}": ${s.goNote}`);
  console.log('ratios: exec against the raw command stdout copy, port-forward against the raw relay; goal: >= 0.80 of raw and ahead of Go; CPU/raw: kvcloud server CPU per byte over the raw copy\'s');
  finished = true;
} finally {
  goCri?.close();
  await Promise.all(children.map(stopChild));
  if (CPU_PROF_DIR) console.log(`kvcloud server CPU profile in ${CPU_PROF_DIR}`);
  if (finished) rmSync(dir, { recursive: true, force: true });
  else console.error(`kept ${dir} (the Go baseline's log is baseline.log there)`);
}
