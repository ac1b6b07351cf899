import { expect } from 'chai';
import { parseLabelSelector, selectorFromLabels } from './label-selector.js';

describe('lib/kube/label-selector', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  const cases: { selector: string; matches: boolean }[] = [
    { selector: '', matches: true },
    { selector: 'app=web', matches: true },
    { selector: 'app==web', matches: true },
    { selector: 'app=db', matches: false },
    { selector: 'app!=db', matches: true },
    { selector: 'missing!=x', matches: true },
    { selector: 'app', matches: true },
    { selector: '!app', matches: false },
    { selector: '!missing', matches: true },
    { selector: 'env in (prod, staging)', matches: true },
    { selector: 'env notin (prod,staging)', matches: false },
    { selector: 'app=web,tier=front,env in (prod)', matches: true },
    { selector: 'app=web,tier=back', matches: false },
  ];
  for (const tc of cases) {
    it(`"${tc.selector}" ${tc.matches ? 'matches' : 'does not match'} like the apiserver`, () => {
      expect(parseLabelSelector(tc.selector).matches(labels)).to.equal(tc.matches);
    });
  }

  it('rejects a malformed term', () => {
    expect(() => parseLabelSelector('a in b')).to.throw(/not valid/);
  });

  it('renders matchLabels as an equality selector', () => {
    expect(selectorFromLabels({ a: '1', b: '2' })).to.equal('a=1,b=2');
  });
});
