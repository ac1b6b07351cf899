// The project's layering, checked on every relative import: lib/ knows no component, a component imports lib/
// and itself only, the local cloud may run components, nothing imports bench/ or an e2e suite, and only suites
// and benchmarks use the test-only fixtures in e2e/harness/. ARCHITECTURE.md's
// "Layout" is the prose of the same table.
import path from 'node:path';

const root = import.meta.dirname;
const COMPONENTS = ['providers/infrastructure', 'providers/controlplane', 'providers/autoscaler', 'ccm', 'csi', 'streaming'];

/** The layer a repository-relative path belongs to. */
function layerOf(rel) {
  if (rel.startsWith('lib/testing/')) return 'lib/testing';
  if (rel.startsWith('e2e/harness/')) return 'e2e/harness';
  for (const c of COMPONENTS) if (rel.startsWith(`${c}/`)) return c;
  const top = rel.split('/')[0];
  return rel.includes('/') ? top : 'root';
}

const LOCAL_CLOUD = ['localcloud', 'simulators', 'packaging'];
const ALLOWED = {
  lib: ['lib'],
  'lib/testing': ['lib', 'lib/testing'],
  packaging: ['lib', 'packaging', ...COMPONENTS],
  localcloud: ['lib', ...LOCAL_CLOUD, ...COMPONENTS],
  simulators: ['lib', ...LOCAL_CLOUD, ...COMPONENTS],
  e2e: ['lib', 'lib/testing', 'e2e', 'e2e/harness', ...LOCAL_CLOUD, ...COMPONENTS],
  'e2e/harness': ['lib', 'e2e/harness', ...LOCAL_CLOUD, ...COMPONENTS],
  bench: ['lib', 'bench', 'e2e/harness', ...LOCAL_CLOUD, ...COMPONENTS],
  hack: ['lib', 'hack', ...LOCAL_CLOUD, ...COMPONENTS],
};
for (const c of COMPONENTS) ALLOWED[c] = ['lib', c];

function check(context, node) {
  const spec = node.source?.value;
  if (typeof spec !== 'string' || !spec.startsWith('.')) return;
  const from = path.relative(root, context.filename);
  const to = path.relative(root, path.resolve(path.dirname(context.filename), spec));
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === b) return;
  const allowed = [...(ALLOWED[a] ?? []), ...(/\.test(data)?\.ts$/.test(from) ? ['lib/testing'] : [])];
  if (!allowed.includes(b)) context.report({ node: node.source, message: `${a} may not import ${b} (${to}); allowed: ${allowed.join(', ') || 'nothing'}` });
}

export const layersPlugin = {
  rules: {
    imports: {
      meta: { type: 'problem', schema: [] },
      create(context) {
        const visit = (node) => check(context, node);
        return { ImportDeclaration: visit, ExportNamedDeclaration: visit, ExportAllDeclaration: visit, ImportExpression: visit };
      },
    },
  },
};
