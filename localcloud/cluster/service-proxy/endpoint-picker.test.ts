import { expect } from 'chai';
import { EndpointPicker } from './endpoint-picker.js';

const A = { ip: '10.244.0.3', port: 80 };
const B = { ip: '10.244.0.4', port: 80 };
const C = { ip: '10.244.0.5', port: 80 };

describe('service-proxy/endpoint-picker', () => {
  it('picks nothing without endpoints', () => {
    expect(new EndpointPicker().pick('10.244.1.1')).to.be.undefined;
  });

  it('goes round-robin over the endpoints', () => {
    const picker = new EndpointPicker();
    picker.update([A, B, C]);
    expect([1, 2, 3, 4].map(() => picker.pick('10.244.1.1'))).to.deep.equal([A, B, C, A]);
  });

  it('keeps rotating across an endpoint update instead of starting over', () => {
    const picker = new EndpointPicker();
    picker.update([A, B]);
    picker.pick(undefined);
    picker.update([A, B, C]);
    expect([picker.pick(undefined), picker.pick(undefined)]).to.deep.equal([B, C]);
  });

  it('sends a client back to its endpoint with ClientIP affinity, until the affinity times out', () => {
    let now = 0;
    const picker = new EndpointPicker(() => now);
    picker.update([A, B, C], 10_000);
    expect(picker.pick('10.244.1.1')).to.deep.equal(A);
    expect(picker.pick('10.244.1.2')).to.deep.equal(B);
    now = 9_000;
    expect(picker.pick('10.244.1.1')).to.deep.equal(A);
    now = 18_000; // 9s after the last connection: still sticky, the timeout counts from the last use
    expect(picker.pick('10.244.1.1')).to.deep.equal(A);
    now = 30_000; // expired: the client takes the next endpoint in the rotation and sticks to that
    expect(picker.pick('10.244.1.1')).to.deep.equal(C);
    expect(picker.pick('10.244.1.1')).to.deep.equal(C);
  });

  it('moves an affine client when its endpoint goes away', () => {
    const picker = new EndpointPicker(() => 0);
    picker.update([A, B], 10_000);
    expect(picker.pick('10.244.1.1')).to.deep.equal(A);
    picker.update([B, C], 10_000);
    const moved = picker.pick('10.244.1.1');
    expect(moved).to.not.deep.equal(A);
    expect(picker.pick('10.244.1.1')).to.deep.equal(moved);
  });
});
