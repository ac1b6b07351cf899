// One probe attempt, as the kubelet makes it: HTTP(S) GET and TCP connect to the pod's address from the node
// (the cluster network namespace), exec inside the container's namespaces. HTTPS is not verified, and any status
// from 200 to 399 succeeds, as with the kubelet. Lifecycle hooks take the same exec and HTTP GET actions, and sleep.
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';
import type { ContainerPort, LifecycleHandler, Probe } from './pod-api.js';

export interface ProbeTarget {
  podIP: string;
  ports: ContainerPort[];
  /** The container's main process, whose namespaces exec probes enter. */
  pid: number;
  env: Map<string, string>;
  /** Maps an exec command's executable to the image's program. */
  resolveCommand(command: string[]): string[];
}

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, as the kubelet's Unhealthy events phrase it. */
  message: string;
}

function resolvePort(port: number | string, ports: ContainerPort[]): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port);
  if (!named) throw new Error(`no container port named "${port}"`);
  return named.containerPort;
}

function httpGet(probe: NonNullable<Probe['httpGet']>, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const port = resolvePort(probe.port, target.ports);
  const secure = probe.scheme === 'HTTPS';
  const host = probe.host ?? target.podIP;
  const url = `${secure ? 'https' : 'http'}://${host}:${port}${probe.path ?? '/'}`;
  const headers = Object.fromEntries((probe.httpHeaders ?? []).map((h) => [h.name, h.value]));
  return new Promise((resolve) => {
    const req = (secure ? https : http).request(url, { headers: { 'User-Agent': 'kube-probe/kvcloud', ...headers }, timeout: timeoutMs, rejectUnauthorized: false, agent: false, signal }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error(`Get "${url}": context deadline exceeded`)));
    req.on('error', (err) => {
      resolve({ ok: false, message: `Get "${url}": ${err.message}` });
    });
    req.end();
  });
}

function tcpSocket(probe: NonNullable<Probe['tcpSocket']>, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const port = resolvePort(probe.port, target.ports);
  const host = probe.host ?? target.podIP;
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs, signal });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => {
      done({ ok: true, message: '' });
    });
    socket.once('timeout', () => {
      done({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once('error', (err) => {
      done({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` });
    });
  });
}

function exec(command: string[], target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const argv = target.resolveCommand(command);
  // --root and --wd: a container whose volumes needed a copy of / runs chrooted into it.
  const args = [`--target=${target.pid}`, '--mount', '--uts', '--net', '--root', '--wd', '--', ...argv];
  return new Promise((resolve) => {
    execFile('nsenter', args, { env: Object.fromEntries(target.env), timeout: timeoutMs, killSignal: 'SIGKILL', signal }, (err, stdout, stderr) => {
      if (!err) {
        resolve({ ok: true, message: '' });
        return;
      }
      const output = `${stdout}${stderr}`.trim();
      const code = (err as { code?: number | string }).code;
      resolve({ ok: false, message: err.killed ? `command timed out after ${timeoutMs}ms` : `command ${JSON.stringify(command)} exited with ${code ?? '?'}: ${output}` });
    });
  });
}

/**
 * `signal` ends an attempt still under way (its connection or its exec'd process) when the prober stops: a probe
 * timeout can be long (15 s for an apiserver), and an attempt against a container being stopped would otherwise
 * hold its socket that long after the pod is gone.
 */
export async function runProbe(probe: Probe, target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) return await httpGet(probe.httpGet, target, timeoutMs, signal);
    if (probe.tcpSocket) return await tcpSocket(probe.tcpSocket, target, timeoutMs, signal);
    if (probe.exec?.command?.length) return await exec(probe.exec.command, target, timeoutMs, signal);
    return { ok: false, message: 'probe has no action the local pod runner supports (httpGet, tcpSocket, exec)' };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

/** A lifecycle hook's action, bounded by `timeoutMs` (what is left of the grace period for preStop). */
export async function runHookAction(handler: LifecycleHandler, target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  try {
    if (handler.exec?.command?.length) return await exec(handler.exec.command, target, timeoutMs, signal);
    if (handler.httpGet) return await httpGet(handler.httpGet, target, timeoutMs, signal);
    if (handler.sleep) return await sleepAction(handler.sleep.seconds * 1000, timeoutMs, signal);
    // The kubelet refuses it too: tcpSocket is kept in the API for old objects only.
    if (handler.tcpSocket) return { ok: false, message: 'tcpSocket is not supported as a lifecycle hook action' };
    return { ok: false, message: 'hook has no action (exec, httpGet, sleep)' };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

function sleepAction(ms: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve({ ok: true, message: '' });
    };
    const timer = setTimeout(done, Math.min(ms, timeoutMs));
    signal.addEventListener('abort', done, { once: true });
  });
}
