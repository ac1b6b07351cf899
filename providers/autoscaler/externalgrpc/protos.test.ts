import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { cloudProviderService, decodeNode, encodeNode, PROTO_DIR } from './protos.js';

const UPSTREAM_MARKER = '// ---- upstream ----\n';

interface Pin {
  sha256: string;
  path: string;
  origin: string;
}

function pins(): Pin[] {
  return readFileSync(`${PROTO_DIR}pinned.sha256`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const [sha256 = '', path = '', ...origin] = l.split(/\s{2,}/);
      return { sha256, path, origin: origin.join(' ') };
    });
}

/** The upstream part of a pinned file: all of it, or what follows the provenance header. */
function upstreamBytes(path: string): Buffer {
  const bytes = readFileSync(`${PROTO_DIR}${path}`);
  const text = bytes.toString('utf8');
  const at = text.indexOf(UPSTREAM_MARKER);
  return at < 0 ? bytes : Buffer.from(text.slice(at + UPSTREAM_MARKER.length), 'utf8');
}

const gitBlobId = (bytes: Buffer): string => createHash('sha1').update(`blob ${String(bytes.length)}\0`).update(bytes).digest('hex');

describe('providers/autoscaler/externalgrpc/protos', () => {
  it('keeps every pinned proto file byte-identical to its upstream origin', () => {
    const list = pins();
    expect(list.map((p) => p.path)).to.include.members(['externalgrpc.proto', 'k8s.io/api/core/v1/generated.proto']);
    for (const pin of list) expect(createHash('sha256').update(upstreamBytes(pin.path)).digest('hex'), `${pin.path} (${pin.origin})`).to.equal(pin.sha256);
  });

  it('names in the header the upstream git blob the externalgrpc.proto body hashes to', () => {
    const header = readFileSync(`${PROTO_DIR}externalgrpc.proto`, 'utf8').split(UPSTREAM_MARKER)[0] ?? '';
    const blob = /git blob\s*(?:\/\/\s*)?([0-9a-f]{40})/.exec(header.replace(/\n\/\/ /g, ' '))?.[1];
    expect(blob, 'the header names a git blob').to.be.a('string');
    expect(gitBlobId(upstreamBytes('externalgrpc.proto'))).to.equal(blob);
  });

  it('pins the Kubernetes types at the version of the Kubernetes the project runs', () => {
    const env = readFileSync(new URL('../../../e2e/tools/versions.env', import.meta.url), 'utf8');
    const kubernetes = /^KUBERNETES_VERSION=v1\.(\d+\.\d+)$/m.exec(env)?.[1];
    for (const pin of pins().filter((p) => p.path.startsWith('k8s.io/'))) expect(pin.origin, pin.path).to.match(new RegExp(`@v0\\.${kubernetes ?? '?'} `));
  });

  it('serves every RPC of the CloudProvider service', () => {
    expect(Object.keys(cloudProviderService()).sort()).to.deep.equal([
      'Cleanup', 'GPULabel', 'GetAvailableGPUTypes', 'NodeGroupDecreaseTargetSize', 'NodeGroupDeleteNodes', 'NodeGroupForNode',
      'NodeGroupGetOptions', 'NodeGroupIncreaseSize', 'NodeGroupNodes', 'NodeGroupTargetSize', 'NodeGroupTemplateNodeInfo', 'NodeGroups',
      'PricingNodePrice', 'PricingPodPrice', 'Refresh',
    ]);
  });

  it('encodes a v1.Node as Kubernetes protobuf and reads it back', () => {
    const node = { metadata: { name: 'n', labels: { a: 'b' } }, spec: { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }, status: { capacity: { cpu: { string: '2' } } } };
    const bytes = encodeNode(node);
    // Field 1 (metadata) as a length-delimited message, then its field 1 (name): what Go's v1.Node#Marshal writes.
    expect([...bytes.subarray(0, 5)]).to.deep.equal([0x0a, 0x0b, 0x0a, 0x01, 'n'.charCodeAt(0)]);
    expect(decodeNode(bytes)).to.deep.equal(node);
    expect(() => encodeNode({ metadata: { name: 7 } })).to.throw(/encode v1.Node: .*name/);
  });
});
