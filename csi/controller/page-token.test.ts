import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { CsiError } from '../status.js';
import { encodeToken, page } from './page-token.js';

describe('csi/controller list pages', () => {
  const names = ['a', 'b', 'c', 'd'];
  const id = (n: string) => n;

  it('pages by the last name returned, so an entry deleted in between loses nothing', () => {
    const first = page(names, id, { max_entries: 2 });
    expect(first).to.deep.equal({ entries: ['a', 'b'], next_token: encodeToken('b') });
    expect(page(['a', 'c', 'd'], id, { max_entries: 2, starting_token: first.next_token })).to.deep.equal({ entries: ['c', 'd'] });
  });

  it('returns everything without max_entries, and no token on the last page', () => expect(page(names, id, {})).to.deep.equal({ entries: names }));

  it('refuses a token it did not issue with ABORTED', () => {
    expect(() => page(names, id, { starting_token: 'nope' })).to.throw().that.satisfies((e: CsiError) => e.code === status.ABORTED);
  });
});
