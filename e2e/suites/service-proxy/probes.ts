// What a client in the cluster network namespace sees: HTTP answers and refusals on Service addresses, UDP
// replies, the service device's addresses and the sockets listening on Service and node addresses.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { IPv4Range } from '../../../localcloud/cluster/service-proxy/ipv4-range.js';
import { runIp } from '../../../localcloud/cluster/service-proxy/service-device.js';
import { LOAD_BALANCER_POOL, NODE_IP, SERVICE_CIDR, SERVICE_DEVICE } from '../../../localcloud/cluster/topology.js';

const TIMEOUT_MS = 2000;

/**
 * One GET on a fresh connection (so every call is a new choice of endpoint); resolves with the body. `from`: the
 * source address to connect from, for a client with an address of its own.
 */
export function httpGet(ip: string, port: number, path = '/', from?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ip, port, path, agent: false, timeout: TIMEOUT_MS, ...(from ? { localAddress: from } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve(body);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${ip}:${port}: timed out`)));
    req.on('error', (err) => {
      reject(new Error(`GET ${ip}:${port}: ${err.message}`, { cause: err }));
    });
  });
}

/** One HTTPS GET verified against `ca`, as an in-cluster client checks the apiserver at its Service IP. */
export function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve(body);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', (err) => {
      reject(new Error(`GET ${url}: ${err.message}`, { cause: err }));
    });
  });
}

/**
 * Milliseconds from `since` until ip:port answers a GET, polling every 5 ms (waitFor's growing interval would
 * measure its own back-off); throws after `timeoutMs`.
 */
export async function msUntilAnswered(ip: string, port: number, since: number, timeoutMs: number): Promise<number> {
  for (;;) {
    const ok = await httpGet(ip, port).then(
      () => true,
      () => false,
    );
    if (ok) return performance.now() - since;
    if (performance.now() - since > timeoutMs) throw new Error(`${ip}:${port} did not answer within ${timeoutMs} ms`);
    await delay(5);
  }
}

/** The error code a TCP connection to ip:port ends with ("ECONNREFUSED"), or "connected". */
export async function connectOutcome(ip: string, port: number): Promise<string> {
  const socket = net.connect({ host: ip, port, timeout: TIMEOUT_MS });
  try {
    await Promise.race([
      once(socket, 'connect'),
      once(socket, 'timeout').then(() => {
        throw Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });
      }),
    ]);
    return 'connected';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  } finally {
    socket.destroy();
  }
}

/** A connection to ip:port, once it is established; the caller ends it. */
export async function openConnection(ip: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host: ip, port, timeout: TIMEOUT_MS });
  socket.once('timeout', () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
  try {
    await once(socket, 'connect');
  } catch (err) {
    socket.destroy();
    throw new Error(`connect ${ip}:${port}: ${(err as Error).message}`, { cause: err });
  }
  socket.setTimeout(0); // established: it may idle as long as the caller likes
  return socket;
}

/** Writes `text` on an echoing connection and resolves with what comes back; a silent connection fails. */
export async function echoed(socket: net.Socket, text: string): Promise<string> {
  socket.write(text);
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, TIMEOUT_MS);
  try {
    const [chunk] = (await once(socket, 'data', { signal: controller.signal })) as [Buffer];
    return chunk.toString();
  } catch (err) {
    throw new Error(`no echo of "${text}" within ${TIMEOUT_MS} ms: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** Sends one datagram and resolves with the reply and where it came from. */
export async function udpAsk(ip: string, port: number, text: string): Promise<{ reply: string; from: string }> {
  const socket = dgram.createSocket('udp4');
  try {
    socket.send(text, port, ip);
    const reply = once(socket, 'message') as Promise<[Buffer, dgram.RemoteInfo]>;
    const timeout = new Promise<never>((_, reject) => {
      setTimeout(() => {
        reject(new Error(`no UDP reply from ${ip}:${port}`));
      }, TIMEOUT_MS).unref();
    });
    const [msg, from] = await Promise.race([reply, timeout]);
    return { reply: msg.toString(), from: `${from.address}:${from.port}` };
  } finally {
    socket.close();
  }
}

/** IPv4 addresses on the service device right now, as the kernel lists them. */
export async function deviceAddresses(): Promise<string[]> {
  const out = await runIp(['-o', '-4', 'addr', 'show', 'dev', SERVICE_DEVICE]);
  return [...out.matchAll(/\binet (\S+)/g)].map((m) => m[1] ?? '').sort();
}

// /proc/net/{tcp,udp} print the local address as little-endian hex "0A00600A:0050".
function decodeAddress(hex: string): string {
  const [ipHex = '', portHex = ''] = hex.split(':');
  const value = parseInt(ipHex, 16);
  const ip = [value & 255, (value >>> 8) & 255, (value >>> 16) & 255, value >>> 24].join('.');
  return `${ip}:${parseInt(portHex, 16)}`;
}

const TCP_LISTEN = '0A';
// kube-apiserver's default --service-node-port-range.
const NODE_PORTS = { min: 30000, max: 32767 };

/**
 * Sockets of this network namespace bound to a ClusterIP, a load-balancer IP or a NodePort of the node address:
 * listening TCP sockets and any UDP socket. After the proxy stops there must be none. (The apiserver listens on
 * the node address too, on a port outside the NodePort range.)
 */
export function serviceAddressSockets(): string[] {
  const services = IPv4Range.parse(SERVICE_CIDR);
  const pool = IPv4Range.parse(LOAD_BALANCER_POOL);
  const ours = (address: string): boolean => {
    const [ip = '', portText = ''] = address.split(':');
    const port = Number(portText);
    const nodePort = ip === NODE_IP && port >= NODE_PORTS.min && port <= NODE_PORTS.max;
    return nodePort || services.contains(ip) || pool.contains(ip);
  };
  const found: string[] = [];
  for (const protocol of ['tcp', 'udp'] as const) {
    const lines = readFileSync(`/proc/net/${protocol}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const [, local = '', , state = ''] = line.trim().split(/\s+/);
      if (protocol === 'tcp' && state !== TCP_LISTEN) continue;
      const address = decodeAddress(local);
      if (ours(address)) found.push(`${protocol.toUpperCase()} ${address}`);
    }
  }
  return found.sort();
}

/**
 * Completed connections per second to ip:port over `durationMs`, with `workers` clients in parallel, each
 * connecting, reading until the server closes, and connecting again.
 */
export async function connectionRate(ip: string, port: number, durationMs: number, workers: number): Promise<{ perSecond: number; completed: number }> {
  const deadline = performance.now() + durationMs;
  const started = performance.now();
  let completed = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const socket = net.connect({ host: ip, port });
      socket.resume();
      await once(socket, 'close');
      completed++;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return { perSecond: completed / ((performance.now() - started) / 1000), completed };
}
