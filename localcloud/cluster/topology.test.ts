import { expect } from 'chai';
import { cidrContains, parseCIDR, type CIDR } from '../../lib/net/ip.js';
import { MAX_CLUSTERS } from '../cli/args.js';
import { LOAD_BALANCER_POOL, POD_CIDR, SERVICE_CIDR, TENANT_POD_CIDR, TENANT_POD_CIDRS, TENANT_SERVICE_CIDR } from './topology.js';

const block = (cidr: string): CIDR => {
  const b = parseCIDR(cidr);
  if (!b) throw new Error(`bad CIDR ${cidr}`);
  return b;
};
const start = (c: CIDR) => ({ family: c.family, value: c.network });
const overlap = (a: string, b: string) => cidrContains(block(a), start(block(b))) || cidrContains(block(b), start(block(a)));

describe('localcloud/cluster/topology', () => {
  it('has a pod range for each tenant the demo may start, the default first', () => {
    expect(TENANT_POD_CIDRS[0]).to.equal(TENANT_POD_CIDR);
    expect(TENANT_POD_CIDRS.length).to.be.at.least(MAX_CLUSTERS);
  });

  it('keeps every tenant pod range apart from the others and from the management and tenant Service ranges', () => {
    for (const [i, a] of TENANT_POD_CIDRS.entries()) {
      for (const b of TENANT_POD_CIDRS.slice(i + 1)) expect(overlap(a, b), `${a} and ${b}`).to.equal(false);
      for (const m of [POD_CIDR, SERVICE_CIDR, LOAD_BALANCER_POOL, TENANT_SERVICE_CIDR]) expect(overlap(a, m), `${a} and ${m}`).to.equal(false);
    }
  });
});
