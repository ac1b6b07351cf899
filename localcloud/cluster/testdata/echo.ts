// The test image's program (kvcloud.local/test/echo:dev): an HTTP server that tells who and where it is, shows
// its files and environment, and calls the apiserver with its ServiceAccount token, so suites can check what a
// pod sees from inside. Node runs it directly (type stripping), so it imports nothing but Node's own modules.
//
//   --port=8080         where to listen (all addresses of the pod)
//   --exit=<code>       exit at once with this code instead of serving (a crashing container)
//   --ignore-sigterm    stay up on SIGTERM, so only SIGKILL ends it (grace period tests)
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { request } from 'node:https';
import { hostname, networkInterfaces } from 'node:os';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function flag(name: string): string | undefined {
  const prefix = `--${name}=`;
  const arg = process.argv.find((a) => a === `--${name}` || a.startsWith(prefix));
  if (arg === undefined) return undefined;
  return arg.startsWith(prefix) ? arg.slice(prefix.length) : '';
}

function podIP(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return undefined;
}

/** The peer's IPv4 address as written elsewhere, without the IPv4-mapped IPv6 prefix a dual-stack socket gives it. */
function clientAddress(remote: string | undefined): string | undefined {
  return remote?.replace(/^::ffff:/, '');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** GET on the apiserver as the pod's ServiceAccount, the way client-go's in-cluster config does it. */
function callApiServer(path: string): Promise<{ status: number; body: unknown }> {
  const token = readFileSync(`${SERVICE_ACCOUNT_DIR}/token`, 'utf8');
  const ca = readFileSync(`${SERVICE_ACCOUNT_DIR}/ca.crt`, 'utf8');
  const host = process.env.KUBERNETES_SERVICE_HOST ?? '';
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, ca, headers: { authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const exitCode = flag('exit');
if (exitCode !== undefined) {
  console.log(`echo: exiting with ${exitCode} as asked`);
  process.exit(Number(exitCode));
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://pod');
  switch (url.pathname) {
    case '/':
      // client: the source address the connection arrived from, so suites see what each proxy on the way kept of it.
      reply(res, 200, { pod: process.env.POD_NAME, namespace: process.env.POD_NAMESPACE, ip: podIP(), hostname: hostname(), pid: process.pid, client: clientAddress(req.socket.remoteAddress) });
      return;
    case '/healthz':
      reply(res, 200, { ok: true });
      return;
    case '/env':
      reply(res, 200, process.env);
      return;
    case '/file':
      try {
        reply(res, 200, { content: readFileSync(url.searchParams.get('path') ?? '', 'utf8') });
      } catch (err) {
        reply(res, 404, { error: (err as Error).message });
      }
      return;
    case '/api':
      callApiServer(url.searchParams.get('path') ?? '/api').then(
        (answer) => {
          reply(res, 200, answer);
        },
        (err: unknown) => {
          reply(res, 502, { error: (err as Error).message });
        },
      );
      return;
    default:
      reply(res, 404, { error: `no ${url.pathname}` });
  }
});

const port = Number(flag('port') ?? '8080');
server.listen(port, () => {
  console.log(`echo: serving on :${port} as ${hostname()} (${podIP() ?? 'no pod IP'})`);
});
process.on('SIGTERM', () => {
  if (flag('ignore-sigterm') !== undefined) {
    console.log('echo: ignoring SIGTERM as asked');
    return;
  }
  console.log('echo: SIGTERM, closing');
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
