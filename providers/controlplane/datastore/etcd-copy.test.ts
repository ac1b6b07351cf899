import { expect } from 'chai';
import { copyPrefix, type KVCaller } from './etcd-copy.js';

/** An in-memory etcd KV: sorted keys, Range with limit/more and a revision, Put, DeleteRange. */
class FakeKV implements KVCaller {
  readonly data = new Map<string, { value: string; lease: string }>();
  revision = 7;
  ranges = 0;

  kv(method: 'Range' | 'Put' | 'DeleteRange', req: object): Promise<unknown> {
    const r = req as { key: Buffer; range_end?: Buffer; limit?: number; value?: Buffer };
    const inRange = (k: string) => k >= r.key.toString() && k < (r.range_end?.toString() ?? '');
    if (method === 'Put') {
      this.data.set(r.key.toString(), { value: (r.value ?? Buffer.alloc(0)).toString(), lease: '0' });
      return Promise.resolve({});
    }
    const keys = [...this.data.keys()].filter(inRange).sort();
    if (method === 'DeleteRange') {
      for (const k of keys) this.data.delete(k);
      return Promise.resolve({ deleted: String(keys.length) });
    }
    this.ranges++;
    const page = r.limit ? keys.slice(0, r.limit) : keys;
    return Promise.resolve({
      header: { revision: String(this.revision) },
      kvs: page.map((k) => ({ key: Buffer.from(k), value: Buffer.from(this.data.get(k)?.value ?? ''), lease: this.data.get(k)?.lease ?? '0' })),
      more: page.length < keys.length,
    });
  }
}

describe('datastore/etcd-copy', () => {
  const cases = [
    { name: 'copies a prefix larger than one page, page after page', keys: 23, pageSize: 5, wantRanges: 5 },
    { name: 'copies a prefix that fits in one page with one read', keys: 3, pageSize: 500, wantRanges: 1 },
    { name: 'copies an empty prefix as nothing', keys: 0, pageSize: 5, wantRanges: 1 },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      const source = new FakeKV();
      const target = new FakeKV();
      for (let i = 0; i < tc.keys; i++) source.data.set(`/t1/registry/configmaps/default/cm-${String(i).padStart(3, '0')}`, { value: `v${i}`, lease: '0' });
      source.data.set('/t10/other-tenant', { value: 'x', lease: '0' });
      source.data.set('/t0/before', { value: 'x', lease: '0' });
      const res = await copyPrefix(source, target, '/t1/', tc.pageSize);
      expect(res).to.deep.equal({ copied: tc.keys, skippedLeased: 0, revision: '7' });
      expect(source.ranges).to.equal(tc.wantRanges);
      expect([...target.data.keys()].sort()).to.deep.equal([...source.data.keys()].filter((k) => k.startsWith('/t1/')).sort());
      for (const [k, v] of target.data) expect(v.value).to.equal(source.data.get(k)?.value);
    });
  }

  it('empties the target prefix first, so a second copy after a crash leaves no stale key, and spares other prefixes', async () => {
    const source = new FakeKV();
    const target = new FakeKV();
    source.data.set('/t1/a', { value: 'new', lease: '0' });
    target.data.set('/t1/a', { value: 'old', lease: '0' });
    target.data.set('/t1/stale', { value: 'old', lease: '0' });
    target.data.set('/t2/neighbour', { value: 'keep', lease: '0' });
    await copyPrefix(source, target, '/t1/');
    expect(Object.fromEntries([...target.data].map(([k, v]) => [k, v.value]))).to.deep.equal({ '/t1/a': 'new', '/t2/neighbour': 'keep' });
  });

  it('leaves keys bound to an etcd lease behind and counts them', async () => {
    const source = new FakeKV();
    const target = new FakeKV();
    source.data.set('/t1/registry/events/default/e1', { value: 'e', lease: '694d7a1b2c' });
    source.data.set('/t1/registry/pods/default/p1', { value: 'p', lease: '0' });
    const res = await copyPrefix(source, target, '/t1/');
    expect(res.copied).to.equal(1);
    expect(res.skippedLeased).to.equal(1);
    expect([...target.data.keys()]).to.deep.equal(['/t1/registry/pods/default/p1']);
  });
});
