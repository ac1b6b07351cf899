import { expect } from 'chai';
import { divideRoundingUp, parseQuantity } from './quantity.js';

describe('resource quantities', () => {
  const cases: { q: string | number; want: number }[] = [
    { q: '500m', want: 0.5 },
    { q: '2', want: 2 },
    { q: '1.5', want: 1.5 },
    { q: '128Mi', want: 128 * 2 ** 20 },
    { q: '1G', want: 1e9 },
    { q: '1e3', want: 1000 },
    { q: 3, want: 3 },
  ];
  for (const tc of cases) {
    it(`parses ${JSON.stringify(tc.q)}`, () => {
      expect(parseQuantity(tc.q)).to.be.closeTo(tc.want, 1e-9);
    });
  }

  it('rejects text that is not a quantity', () => {
    expect(() => parseQuantity('lots')).to.throw(/not a resource quantity/);
  });

  it('divides by the divisor rounding up, as resourceFieldRef reports', () => {
    expect(divideRoundingUp('500m')).to.equal('1');
    expect(divideRoundingUp('500m', '1m')).to.equal('500');
    expect(divideRoundingUp('100m', '1m')).to.equal('100');
    expect(divideRoundingUp('64Mi', '1Mi')).to.equal('64');
    expect(divideRoundingUp('1Gi')).to.equal(String(2 ** 30));
  });
});
