// Stand-ins for pods: servers in the test process bound to pod addresses that the test adds to the cluster
// bridge of the network namespace it runs in. The proxy reaches them across the bridge as it reaches real pods,
// while each test decides every endpoint condition itself, which real pods and the EndpointSlice controller
// would not let it do.
import { once } from 'node:events';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { runIp } from '../../../localcloud/cluster/service-proxy/service-device.js';
import { podIpam } from '../../../localcloud/cluster/ipam.js';
import { CLUSTER_BRIDGE } from '../../../localcloud/cluster/topology.js';

/** What every test pod serves, the targetPorts of the suite's Services. */
export const POD_PORTS = {
  /** HTTP answering with the pod's name, or on /client with the source address the connection came from. */
  http: 8080,
  /** UDP answering "<name>:<datagram>". */
  udp: 5353,
  /** TCP that writes "ok" and closes: the cheapest connection to measure rates with. */
  raw: 9000,
  /** TCP that echoes what it reads for as long as the client keeps the connection: one that outlives a request. */
  echo: 9001,
} as const;

export interface TestPod {
  readonly name: string;
  readonly ip: string;
  stop(): Promise<void>;
}

export async function startTestPod(name: string): Promise<TestPod> {
  // From the process-wide pod allocator, so these never collide with real pods of a cluster in the same run.
  const ip = podIpam.allocate();
  await runIp(['addr', 'replace', `${ip}/32`, 'dev', CLUSTER_BRIDGE]);

  const web = http.createServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(req.url === '/client' ? (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '') : name);
  });
  web.listen(POD_PORTS.http, ip);
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, from) => {
    udp.send(`${name}:${msg.toString()}`, from.port, from.address);
  });
  udp.bind(POD_PORTS.udp, ip);
  const tcp = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('ok');
  });
  tcp.listen(POD_PORTS.raw, ip);
  const echoing = new Set<net.Socket>();
  const echo = net.createServer((socket) => {
    echoing.add(socket);
    socket.on('close', () => echoing.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  echo.listen(POD_PORTS.echo, ip);
  await Promise.all([once(web, 'listening'), once(udp, 'listening'), once(tcp, 'listening'), once(echo, 'listening')]);

  return {
    name,
    ip,
    async stop() {
      web.closeAllConnections();
      for (const socket of echoing) socket.destroy();
      await Promise.all([
        new Promise((resolve) => web.close(resolve)),
        new Promise((resolve) => tcp.close(resolve)),
        new Promise((resolve) => echo.close(resolve)),
        new Promise((resolve) => {
          udp.close(() => {
            resolve(undefined);
          });
        }),
      ]);
      await runIp(['addr', 'del', `${ip}/32`, 'dev', CLUSTER_BRIDGE]);
      podIpam.release(ip);
    },
  };
}
