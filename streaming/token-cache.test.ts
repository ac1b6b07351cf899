import { expect } from 'chai';
import { TokenCache, TooManyInFlightError } from './token-cache.js';

describe('streaming token cache', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('makes 8-character URL-safe tokens from 6 random bytes', () => {
    let asked = 0;
    const cache = new TokenCache<string>({
      random: (n) => {
        asked = n;
        return Buffer.from([0xfb, 0xff, 0xbf, 0, 1, 2]);
      },
    });
    const token = cache.insert('x');
    expect(asked).to.equal(6);
    expect(token).to.have.length(8).and.match(/^[A-Za-z0-9_-]{8}$/);
  });

  const cases = [
    { name: 'a live token once', steps: [{ advance: 59_999, want: 'req' }] },
    { name: 'nothing for a used token', steps: [{ advance: 0, want: 'req' }, { advance: 0, want: undefined }] },
    { name: 'nothing for an expired token (1 minute TTL)', steps: [{ advance: 60_000, want: undefined }] },
  ];
  for (const tc of cases) {
    it(`consume gives ${tc.name}`, () => {
      const c = clock();
      const cache = new TokenCache<string>({ now: c.now });
      const token = cache.insert('req');
      for (const step of tc.steps) {
        c.advance(step.advance);
        expect(cache.consume(token)).to.equal(step.want);
      }
    });
  }

  it('gives nothing for a token it never issued', () => {
    expect(new TokenCache<string>().consume('AAAAAAAA')).to.equal(undefined);
  });

  it('refuses the 1001st request in flight with the seconds until the oldest expires, and takes one once it did', () => {
    const c = clock();
    const cache = new TokenCache<number>({ now: c.now });
    for (let i = 0; i < 1000; i++) {
      cache.insert(i);
      if (i === 0) c.advance(20_000);
    }
    const err = (() => {
      try {
        cache.insert(1000);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(err).to.be.instanceOf(TooManyInFlightError);
    expect((err as TooManyInFlightError).retryAfterSeconds).to.equal(40);
    c.advance(40_000);
    expect(cache.insert(1000)).to.have.length(8);
    expect(cache.size).to.equal(1000);
  });

  it('draws again when a token collides with a live one', () => {
    const draws = [Buffer.alloc(6, 1), Buffer.alloc(6, 1), Buffer.alloc(6, 2)];
    const cache = new TokenCache<string>({ random: () => draws.shift() ?? Buffer.alloc(6, 3) });
    const a = cache.insert('a');
    const b = cache.insert('b');
    expect(a).to.not.equal(b);
    expect([cache.consume(a), cache.consume(b)]).to.deep.equal(['a', 'b']);
  });
});
