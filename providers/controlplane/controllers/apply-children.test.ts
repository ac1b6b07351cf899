import { expect } from 'chai';
import { contains } from './apply-children.js';

describe('controllers/apply-children contains', () => {
  const cases = [
    { name: 'ignores fields the apiserver or others added', have: { spec: { a: 1, clusterIP: '10.0.0.1' } }, want: { spec: { a: 1 } }, result: true },
    { name: 'sees a changed value', have: { spec: { a: 1 } }, want: { spec: { a: 2 } }, result: false },
    { name: 'sees a missing field', have: { spec: {} }, want: { spec: { a: 1 } }, result: false },
    { name: 'compares lists element by element, tolerating defaults inside elements', have: { ports: [{ port: 1, nodePort: 30000 }] }, want: { ports: [{ port: 1 }] }, result: true },
    { name: 'sees a list of another length', have: { ports: [{ port: 1 }, { port: 2 }] }, want: { ports: [{ port: 1 }] }, result: false },
    { name: 'treats undefined wanted fields as absent', have: {}, want: { a: undefined }, result: true },
  ];
  for (const tc of cases) it(tc.name, () => expect(contains(tc.have, tc.want)).to.equal(tc.result));
});
