// A plain HTTP GET on a connection of its own, closed with the response. fetch() keeps connections alive in a
// pool for seconds after the last request; to a pod the suite then deletes, such a socket outlives the suite and
// holds the test process open.
import { get } from 'node:http';

/** `localAddress`: the source address to connect from, for a client with an address of its own. */
export function httpGetText(url: string, timeoutMs = 10_000, localAddress?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: timeoutMs, ...(localAddress ? { localAddress } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${String(timeoutMs)} ms`)));
    req.on('error', reject);
  });
}
