// The write requests a kvcloud process has made, as an operator would count them: rest_client_requests_total of
// POST, PUT, PATCH and DELETE (whatever the answer), read from the /metrics endpoint the process serves.
import { readFileSync } from 'node:fs';
import { httpGetText } from './http-get.js';

const WRITE = /^rest_client_requests_total\{.*method="(POST|PUT|PATCH|DELETE)".*\} (\S+)$/;

/** Write requests in one scrape of `metricsUrl` (http://host:port, or its /metrics), keyed "METHOD host". */
export async function writeRequests(metricsUrl: string): Promise<Record<string, number>> {
  const { status, text } = await httpGetText(new URL('/metrics', metricsUrl).toString());
  if (status !== 200) throw new Error(`GET ${metricsUrl}/metrics: ${String(status)}`);
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = WRITE.exec(line);
    if (!m) continue;
    const key = `${m[1] ?? ''} ${/host="([^"]*)"/.exec(line)?.[1] ?? ''}`;
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}

/** The metrics address a process logged (a JSON log line with `msg` and a `metrics` URL), from its log file. */
export function loggedMetricsUrl(logFile: string, msg: string): string {
  const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes(`"msg":"${msg}"`));
  const url = line ? (JSON.parse(line) as { metrics?: string }).metrics : undefined;
  if (!url) throw new Error(`${logFile}: no "${msg}" line with a metrics address yet`);
  return url;
}
