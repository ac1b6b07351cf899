import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import type { CsiError } from '../status.js';
import { sizeWithSource } from './content-source.js';
import { DEFAULT_VOLUME_BYTES } from './datavolume.js';

describe('csi/controller content source sizes', () => {
  const cases = [
    { name: 'a blank volume gets what CreateVolume asks', range: { required_bytes: 100 }, source: 0, want: 100 },
    { name: 'a blank volume without a size gets the default', range: undefined, source: 0, want: DEFAULT_VOLUME_BYTES },
    { name: 'a restore without a size gets the source size', range: undefined, source: 5000, want: 5000 },
    { name: 'a restore asking more gets exactly that', range: { required_bytes: 8000 }, source: 5000, want: 8000 },
    { name: 'a restore asking less is OUT_OF_RANGE', range: { required_bytes: 4000 }, source: 5000, want: 'OUT_OF_RANGE' as const },
    { name: 'a restore limited below the source is OUT_OF_RANGE', range: { limit_bytes: 4000 }, source: 5000, want: 'OUT_OF_RANGE' as const },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      if (tc.want === 'OUT_OF_RANGE') {
        expect(() => sizeWithSource(tc.range, tc.source)).to.throw().that.satisfies((e: CsiError) => e.code === status.OUT_OF_RANGE);
      } else {
        expect(sizeWithSource(tc.range, tc.source)).to.equal(tc.want);
      }
    });
  }
});
