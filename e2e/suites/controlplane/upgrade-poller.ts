// A tenant API client for the upgrade proof: every few hundred milliseconds it asks the tenant apiserver for
// /version and for one object, through the credentials of `<cluster>-kubeconfig`, and records each answer. Every
// request opens its own TLS connection, so each one is routed afresh by the Service to whichever apiserver pods
// are serving at that moment: a pod that stops accepting before it leaves the endpoints shows up as a failure
// instead of being hidden behind a kept-alive connection to a pod that is still fine. Beside it, a watch records
// every revision of the management objects that drive the upgrade.
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import type { ParsedKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';

export interface PollSample {
  /** When the request started (ms since the epoch). */
  at: number;
  /** The gitVersion /version answered with; undefined when it failed. */
  version?: string;
  /** The object came back with the expected content. */
  objectOk: boolean;
  /** What failed, for the report. */
  error?: string;
}

export interface PollSummary {
  requests: number;
  failures: PollSample[];
  /** Versions in the order they were first seen. */
  firstSeen: string[];
  /** Consecutive samples' versions with repeats collapsed: shows an old and a new pod both serving for a while. */
  sequence: string[];
  /** The longest time between two successful samples, in ms. */
  longestGapMs: number;
}

export interface TenantPoller {
  stop(): Promise<PollSample[]>;
  samples: PollSample[];
}

/** A request to the tenant apiserver on a fresh connection; resolves with status and body. */
export function tenantRequest(kc: ParsedKubeconfig, method: 'GET' | 'POST', path: string, body?: object, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const url = new URL(path, kc.server);
  const headers = { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) };
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, ca: kc.caPem, cert: kc.certPem, key: kc.keyPem, agent: false, timeout: timeoutMs, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${String(timeoutMs)} ms`)));
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

export const tenantGet = (kc: ParsedKubeconfig, path: string) => tenantRequest(kc, 'GET', path);

/**
 * Starts polling: /version, then `objectPath`, whose JSON must satisfy `objectOk`. A sample fails when either
 * request fails or answers other than 200.
 */
export function startTenantPoller(kc: ParsedKubeconfig, objectPath: string, objectOk: (obj: unknown) => boolean, intervalMs = 250): TenantPoller {
  const samples: PollSample[] = [];
  const state = { stopping: false };
  const loop = (async () => {
    while (!state.stopping) {
      const at = Date.now();
      try {
        const v = await tenantGet(kc, '/version');
        if (v.status !== 200) throw new Error(`/version answered ${String(v.status)}: ${v.body.slice(0, 200)}`);
        const version = (JSON.parse(v.body) as { gitVersion?: string }).gitVersion ?? '';
        const o = await tenantGet(kc, objectPath);
        if (o.status !== 200) throw new Error(`${objectPath} answered ${String(o.status)}: ${o.body.slice(0, 200)}`);
        samples.push({ at, version, objectOk: objectOk(JSON.parse(o.body)) });
      } catch (err) {
        samples.push({ at, objectOk: false, error: (err as Error).message });
      }
      await delay(Math.max(0, intervalMs - (Date.now() - at)));
    }
  })();
  return {
    samples,
    async stop() {
      state.stopping = true;
      await loop;
      return samples;
    },
  };
}

export function summarize(samples: readonly PollSample[]): PollSummary {
  const firstSeen: string[] = [];
  const sequence: string[] = [];
  let lastOk: number | undefined;
  let longestGapMs = 0;
  for (const s of samples) {
    if (s.version === undefined || !s.objectOk) continue;
    if (!firstSeen.includes(s.version)) firstSeen.push(s.version);
    if (sequence[sequence.length - 1] !== s.version) sequence.push(s.version);
    if (lastOk !== undefined) longestGapMs = Math.max(longestGapMs, s.at - lastOk);
    lastOk = s.at;
  }
  return { requests: samples.length, failures: samples.filter((s) => s.version === undefined || !s.objectOk), firstSeen, sequence, longestGapMs };
}

export interface RevisionWatch {
  /** One line per revision the apiserver sent, rendered by the jsonpath template. */
  lines: string[];
  /** When each line arrived (ms since the epoch), index for index with `lines`. */
  at: number[];
  /** What kubectl said on stderr, for a watch that shows nothing. */
  stderr(): string;
  /** Ends the watch (again: no-op) and returns the lines. */
  stop(): Promise<string[]>;
}

/**
 * Every revision of one object (or of every object a `{ labels }` selector matches), as `kubectl get --watch`
 * receives them: unlike sampling, a state that lasts a few milliseconds (a status written just before the next
 * step's spec) is never missed.
 */
export function watchRevisions(kubectlPath: string, kubeconfig: string, namespace: string, resource: string, target: string | { labels: string }, jsonpath: string): RevisionWatch {
  const which = typeof target === 'string' ? [target] : ['-l', target.labels];
  const child = spawn(kubectlPath, [`--kubeconfig=${kubeconfig}`, '-n', namespace, 'get', resource, ...which, '--watch', '-o', `jsonpath=${jsonpath}{"\\n"}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const at: number[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    at.push(...parts.map(() => Date.now()));
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => {
      resolve();
    });
  });
  return {
    lines,
    at,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      return lines;
    },
  };
}

/**
 * The lines the named watches received from `from` to `to`, merged in arrival order, each stamped relative to
 * `t0`: what the Service's endpoints and the pods looked like around a failed request.
 */
export function timeline(watches: Record<string, RevisionWatch>, from: number, to: number, t0: number): string[] {
  return Object.entries(watches)
    .flatMap(([what, w]) => w.lines.flatMap((line, i) => ((w.at[i] ?? 0) >= from && (w.at[i] ?? 0) <= to ? [{ at: w.at[i] ?? 0, text: `+${String((w.at[i] ?? 0) - t0)} ms ${what}: ${line}` }] : [])))
    .sort((a, b) => a.at - b.at)
    .map((e) => e.text);
}
