// A local cluster comes up in seconds and goes away completely: no process, no listening port, no file, no network
// device and no pod address of it is left once it is stopped.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { expect } from 'chai';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { startCluster } from '../../../localcloud/cluster/cluster.js';
import { podIpam } from '../../../localcloud/cluster/ipam.js';
import { processesReferencing } from '../../../localcloud/run-dir.js';
import { echoContainer, isReady, podObject, processAlive, waitForPod } from './support.js';

function linkNames(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '')
    .filter(Boolean)
    .sort();
}

/** TCP ports listening in this network namespace (state 0A in /proc/net/tcp*). */
function listeningPorts(): number[] {
  const ports = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[3] === '0A')
      .map((cols) => parseInt(cols[1]?.split(':')[1] ?? '0', 16)),
  );
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** Processes in a network namespace other than ours: pod sandboxes and containers. */
function podProcesses(): number[] {
  const own = readlinkSync('/proc/self/ns/net');
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/net`) !== own;
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

describe('local cluster lifecycle', () => {
  it('starts in seconds, runs a pod in about a second, and stopping leaves no process, port, file, device or address behind', async function () {
    this.timeout(5 * 60_000);
    const links = linkNames();
    const ports = listeningPorts();
    const addresses = podIpam.allocated;
    const tokenDirExisted = existsSync('/var/run/secrets/kubernetes.io');

    const started = Date.now();
    const cluster = await startCluster();
    const startup = (Date.now() - started) / 1000;
    const transport = await RestTransport.fromKubeConfig(cluster.plane.kubeConfig);
    try {
      const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
      const created = Date.now();
      await client.create(podObject('default', 'echo', { containers: [echoContainer()] }));
      await waitForPod(client, 'default', 'echo', isReady, 'Ready');
      const podStart = (Date.now() - created) / 1000;
      console.log(`      cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, 1 node) usable in ${startup.toFixed(1)} s;`);
      console.log(`      a pod (sandbox, token volume, probe) Ready ${podStart.toFixed(1)} s after it was created`);
      expect(startup).to.be.below(60);
      expect(podStart).to.be.below(10);

      const inPods = podProcesses();
      expect(inPods, 'sandbox and container processes').to.have.length.of.at.least(2);
      expect(linkNames().filter((l) => l.startsWith('kv-'))).to.have.length(1);
      const planeProcesses = [...cluster.plane.processes.values()].map((p) => p.pid);
      transport.close();
      await cluster.stop();

      for (const pid of [...planeProcesses, ...inPods]) expect(processAlive(pid), `pid ${pid}`).to.be.false;
      expect(podProcesses()).to.deep.equal([]);
      expect(processesReferencing(cluster.dir)).to.deep.equal([]);
      expect(existsSync(cluster.dir)).to.be.false;
      expect(existsSync(cluster.plane.dir)).to.be.false;
      expect(existsSync('/var/run/secrets/kubernetes.io')).to.equal(tokenDirExisted);
      expect(linkNames()).to.deep.equal(links);
      expect(listeningPorts()).to.deep.equal(ports);
      expect(podIpam.allocated).to.equal(addresses);
    } finally {
      transport.close();
      await cluster.stop();
    }
  });
});
