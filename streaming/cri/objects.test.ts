import { expect } from 'chai';
import { AmbiguousIdError, byIdPrefix, matchesLabels, nanos } from './objects.js';

describe('streaming/cri/objects', () => {
  it('resolves ids by unique prefix as containerd does, and refuses an ambiguous one', () => {
    const items = ['abc123', 'abd456', 'ffff'];
    expect(byIdPrefix(items, 'abc', (i) => i)).to.equal('abc123');
    expect(byIdPrefix(items, 'ffff', (i) => i)).to.equal('ffff');
    expect(byIdPrefix(items, 'zz', (i) => i)).to.equal(undefined);
    expect(byIdPrefix(items, '', (i) => i)).to.equal(undefined);
    expect(() => byIdPrefix(items, 'ab', (i) => i)).to.throw(AmbiguousIdError, /matches 2/);
  });

  it('matches label selectors on every key', () => {
    expect(matchesLabels({ a: '1', b: '2' }, { label_selector: { a: '1' } })).to.equal(true);
    expect(matchesLabels({ a: '1' }, { label_selector: { a: '2' } })).to.equal(false);
    expect(matchesLabels({ a: '1' }, undefined)).to.equal(true);
  });

  it('gives times in nanoseconds, exactly, and 0 when unknown', () => {
    expect(nanos('2026-12-07T00:00:01Z')).to.equal('1796601601000000000');
    expect(nanos(1234)).to.equal('1234000000');
    expect(nanos(undefined)).to.equal('0');
    expect(nanos('not a time')).to.equal('0');
  });
});
