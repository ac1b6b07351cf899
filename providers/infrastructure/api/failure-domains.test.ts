import { expect } from 'chai';
import { failureDomainList, toV1Beta1FailureDomains } from './failure-domains.js';

describe('providers/infrastructure/api failure domains', () => {
  it('renders the v1beta1 map keyed by name, with controlPlane always present as that contract requires', () => {
    expect(toV1Beta1FailureDomains([{ name: 'zone-a', controlPlane: true }, { name: 'zone-b', attributes: { rack: 'r1' } }])).to.deep.equal({
      'zone-a': { controlPlane: true },
      'zone-b': { controlPlane: false, attributes: { rack: 'r1' } },
    });
    expect(toV1Beta1FailureDomains([])).to.deep.equal({});
  });

  it('reads either stored shape back as a list sorted by name', () => {
    const list = [{ name: 'zone-b' }, { name: 'zone-a', controlPlane: true }];
    expect(failureDomainList(list)).to.deep.equal([{ name: 'zone-a', controlPlane: true }, { name: 'zone-b' }]);
    expect(failureDomainList({ 'zone-b': { controlPlane: false }, 'zone-a': { controlPlane: true, attributes: { x: 'y' } } })).to.deep.equal([
      { name: 'zone-a', controlPlane: true, attributes: { x: 'y' } },
      { name: 'zone-b', controlPlane: false },
    ]);
    expect(failureDomainList(undefined)).to.deep.equal([]);
  });

  it('round-trips a list through the map form', () => {
    const list = [{ name: 'a', controlPlane: true, attributes: { k: 'v' } }, { name: 'b', controlPlane: false }];
    expect(failureDomainList(toV1Beta1FailureDomains(list))).to.deep.equal(list);
  });

  it('does not share attribute maps with its input', () => {
    const attributes = { rack: 'r1' };
    const map = toV1Beta1FailureDomains([{ name: 'a', attributes }]);
    attributes.rack = 'r2';
    expect(map.a?.attributes).to.deep.equal({ rack: 'r1' });
  });
});
