import { expect } from 'chai';
import { FakeIp, ipFailure } from './fake-ip.js';
import { diffAddresses, ServiceDevice } from './service-device.js';

describe('service-proxy/service-device', () => {
  const diffCases: { name: string; current: string[]; desired: string[]; add: string[]; remove: string[] }[] = [
    { name: 'nothing to do when equal', current: ['10.96.0.1'], desired: ['10.96.0.1'], add: [], remove: [] },
    { name: 'adds what is missing', current: [], desired: ['10.96.0.2', '10.96.0.1'], add: ['10.96.0.1', '10.96.0.2'], remove: [] },
    { name: 'removes what is no longer wanted', current: ['10.96.0.1', '10.255.255.1'], desired: [], add: [], remove: ['10.255.255.1', '10.96.0.1'] },
    { name: 'adds and removes in one diff', current: ['10.96.0.1', '10.96.0.2'], desired: ['10.96.0.2', '10.96.0.3'], add: ['10.96.0.3'], remove: ['10.96.0.1'] },
  ];
  for (const tc of diffCases) {
    it(`diffs address sets: ${tc.name}`, () => {
      expect(diffAddresses(new Set(tc.current), new Set(tc.desired))).to.deep.equal({ add: tc.add, remove: tc.remove });
    });
  }

  it('adopts the /32s a previous proxy left on the device, and only those', async () => {
    const ip = new FakeIp('kvsvc0', ['10.96.0.10/32', '10.96.0.0/16', '10.255.255.1/32']);
    const device = await ServiceDevice.open('kvsvc0', ip.run);
    expect([...device.addresses()].sort()).to.deep.equal(['10.255.255.1', '10.96.0.10']);
  });

  it('fails to open a missing device with a message pointing at the cluster network namespace', async () => {
    const ip = new FakeIp('kvsvc0');
    const err = await ServiceDevice.open('nosuch0', ip.run).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/service device nosuch0: Device "nosuch0" does not exist.*cluster network namespace/);
  });

  it('adds each address once as a /32 and removes only what is no longer wanted', async () => {
    const ip = new FakeIp('kvsvc0');
    const device = await ServiceDevice.open('kvsvc0', ip.run);
    await device.add(['10.96.0.10', '10.255.255.1']);
    await device.add(['10.96.0.10']);
    await device.keepOnly(new Set(['10.96.0.10']));
    expect(ip.calls.slice(1)).to.deep.equal([
      'addr replace 10.96.0.10/32 dev kvsvc0',
      'addr replace 10.255.255.1/32 dev kvsvc0',
      'addr del 10.255.255.1/32 dev kvsvc0',
    ]);
    expect([...ip.addresses]).to.deep.equal(['10.96.0.10/32']);
  });

  it('treats an address someone else already removed as removed', async () => {
    const ip = new FakeIp('kvsvc0', ['10.96.0.10/32']);
    const device = await ServiceDevice.open('kvsvc0', ip.run);
    ip.addresses.clear();
    await device.clear();
    expect(device.addresses().size).to.equal(0);
  });

  it('treats an address removed already as removed also where ip relays the errno (older iproute2)', async () => {
    const device = await ServiceDevice.open('kvsvc0', (args) =>
      args[0] === '-o' ? Promise.resolve('2: kvsvc0    inet 10.96.0.10/32 scope global kvsvc0') : Promise.reject(ipFailure('RTNETLINK answers: Cannot assign requested address')),
    );
    await device.clear();
    expect(device.addresses().size).to.equal(0);
  });

  it('makes one change at a time, so a late "Address not found" cannot strike an address added again from its record', async () => {
    // Two removals of one address, then an add of it once the first removal is done: the second removal's
    // answer is the slowest. Run side by side, its "Address not found" (the first removal took the address)
    // arrived after the add had put the address back, and the record lost an address the kernel held (ci25).
    const delays = new Map([['addr del 10.255.255.2/32 dev kvsvc0', [5, 40]]]);
    let running = 0;
    let most = 0;
    const ip = new FakeIp('kvsvc0', ['10.255.255.2/32'], (args) => delays.get(args.join(' '))?.shift() ?? 5);
    const device = await ServiceDevice.open('kvsvc0', async (args) => {
      most = Math.max(most, ++running);
      try {
        return await ip.run(args);
      } finally {
        running--;
      }
    });
    const first = device.keepOnly(new Set());
    const second = device.keepOnly(new Set());
    await first;
    await Promise.all([second, device.add(['10.255.255.2'])]);
    expect([[...ip.addresses], [...device.addresses()]], 'the kernel and the record').to.deep.equal([['10.255.255.2/32'], ['10.255.255.2']]);
    expect(most, 'ip commands running at once').to.equal(1);
    await device.clear();
    expect(ip.addresses.size, 'removed with the next change').to.equal(0);
  });

  it('goes on with the next change after one failed', async () => {
    const ip = new FakeIp('kvsvc0');
    const device = await ServiceDevice.open('kvsvc0', (args) => (args.includes('10.96.0.66/32') ? Promise.reject(ipFailure('RTNETLINK answers: File exists')) : ip.run(args)));
    const failed = device.add(['10.96.0.66']).then(
      () => 'added',
      (e: unknown) => (e as Error).message,
    );
    await device.add(['10.96.0.10']);
    expect(await failed).to.equal('service device kvsvc0: add 10.96.0.66: RTNETLINK answers: File exists');
    expect([...device.addresses()]).to.deep.equal(['10.96.0.10']);
  });

  it('reports a failing ip command with the device, the address and ip\'s own message', async () => {
    const device = await ServiceDevice.open('kvsvc0', (args) =>
      args[0] === '-o' ? Promise.resolve('') : Promise.reject(ipFailure('RTNETLINK answers: Operation not permitted')),
    );
    const err = await device.add(['10.96.0.10']).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.equal('service device kvsvc0: add 10.96.0.10: RTNETLINK answers: Operation not permitted');
    expect(device.addresses().size).to.equal(0);
  });
});
