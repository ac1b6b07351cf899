import { expect } from 'chai';
import { EndpointPicker } from './endpoint-picker.js';
import { endpointKey, type Endpoint } from './endpoint-selection.js';
import { seededRandom } from '../../../lib/testing/seeded-random.js';

const A = { ip: '10.244.0.3', port: 80 };
const B = { ip: '10.244.0.4', port: 80 };
const C = { ip: '10.244.0.5', port: 80 };
const D = { ip: '10.244.0.6', port: 80 };

const keys = (endpoints: (Endpoint | undefined)[]) => endpoints.map((e) => (e ? endpointKey(e) : 'none'));

describe('service-proxy/endpoint-picker', () => {
  it('picks nothing without endpoints', () => {
    expect(new EndpointPicker().pick('10.244.1.1')).to.be.undefined;
  });

  it('serves every endpoint once per round, each round in a new order', () => {
    const picker = new EndpointPicker(Date.now, seededRandom(1));
    picker.update([A, B, C]);
    const orders = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const picked = keys([picker.pick(undefined), picker.pick(undefined), picker.pick(undefined)]);
      expect([...picked].sort(), `round ${String(round)}`).to.deep.equal(keys([A, B, C]));
      orders.add(picked.join(' '));
    }
    expect(orders.size, 'distinct orders in 20 rounds').to.be.greaterThan(1);
  });

  it('lets two clients that connect in turn each reach both endpoints (a fixed rotation gave each one endpoint forever)', () => {
    const picker = new EndpointPicker(Date.now, seededRandom(7));
    picker.update([A, B]);
    const first = new Set<string>();
    const second = new Set<string>();
    for (let turn = 0; turn < 20; turn++) {
      first.add(keys([picker.pick('10.243.0.2')])[0] ?? '');
      second.add(keys([picker.pick('10.243.1.2')])[0] ?? '');
    }
    expect([...first].sort()).to.deep.equal(keys([A, B]));
    expect([...second].sort()).to.deep.equal(keys([A, B]));
  });

  it('finishes a round across an endpoint update with the endpoints still there; new ones join the next round', () => {
    const picker = new EndpointPicker(Date.now, seededRandom(3));
    picker.update([A, B, C]);
    const served = picker.pick(undefined);
    // Remove one of the two the round has still to serve, and add D.
    const [gone, left] = [A, B, C].filter((e) => e !== served);
    if (!gone || !left || !served) throw new Error('expected three endpoints');
    picker.update([served, left, D]);
    expect(picker.pick(undefined), 'the rest of the round').to.deep.equal(left);
    const next = keys([picker.pick(undefined), picker.pick(undefined), picker.pick(undefined)]);
    expect(next.sort(), 'the next round').to.deep.equal(keys([served, left, D]).sort());
  });

  it('sends a client back to its endpoint with ClientIP affinity, until the affinity times out', () => {
    let now = 0;
    const picker = new EndpointPicker(() => now, seededRandom(5));
    picker.update([A, B, C], 10_000);
    const first = picker.pick('10.244.1.1');
    const other = picker.pick('10.244.1.2');
    expect(other, 'another client takes another endpoint of the round').to.not.deep.equal(first);
    now = 9_000;
    expect(picker.pick('10.244.1.1')).to.deep.equal(first);
    now = 18_000; // 9s after the last connection: still sticky, the timeout counts from the last use
    expect(picker.pick('10.244.1.1')).to.deep.equal(first);
    now = 30_000; // expired: the client takes the round's next endpoint and sticks to that
    const after = picker.pick('10.244.1.1');
    expect(keys([first, other]), 'the round had one endpoint left').to.not.include(keys([after])[0]);
    expect(picker.pick('10.244.1.1')).to.deep.equal(after);
  });

  it('moves an affine client when its endpoint goes away', () => {
    const picker = new EndpointPicker(() => 0, seededRandom(9));
    picker.update([A, B], 10_000);
    const first = picker.pick('10.244.1.1');
    const survivor = first === A ? B : A;
    picker.update([survivor, C], 10_000);
    const moved = picker.pick('10.244.1.1');
    expect(moved).to.not.deep.equal(first);
    expect(picker.pick('10.244.1.1')).to.deep.equal(moved);
  });
});
