// CustomResourceDefinitions from TypeBox schemas: the schema is written once in TypeScript, gives the static
// types, and becomes the CRD's structural openAPIV3Schema here (`make generate` writes the YAML to config/).
import type { TSchema } from '@sinclair/typebox';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** kubectl's Age column; upstream CRDs differ only in its description (Kamaji's says "Age", CAPK's none). */
export const ageColumn = (description?: string): PrinterColumn => ({
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  ...(description ? { description } : {}),
});

export interface CRDVersionSpec {
  name: string;
  schema: TSchema;
  served?: boolean;
  storage?: boolean;
  deprecated?: boolean;
  printerColumns?: PrinterColumn[];
  subresources?: {
    status?: boolean;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
}

export interface CRDSpec {
  group: string;
  kind: string;
  plural: string;
  singular?: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
  scope: 'Namespaced' | 'Cluster';
  /** e.g. the Cluster API contract label `cluster.x-k8s.io/v1beta2: v1alpha1`. */
  labels?: Record<string, string>;
  versions: CRDVersionSpec[];
}

type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
type JSONObject = Record<string, JSONValue>;

// Keywords JSON Schema tools emit that a structural Kubernetes schema does not accept.
const DROPPED = new Set(['$id', '$schema', 'title', 'examples']);

function isObject(v: JSONValue | undefined): v is JSONObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Literal unions (`anyOf` of `const`) become `enum`, single literals a one-value enum. */
function collapseLiterals(node: JSONObject): JSONObject {
  const anyOf = node.anyOf;
  if (Array.isArray(anyOf) && anyOf.length > 0 && anyOf.every((b) => isObject(b) && 'const' in b)) {
    const branches = anyOf as JSONObject[];
    const types = new Set(branches.map((b) => b.type));
    if (types.size === 1) {
      const { anyOf: _drop, ...rest } = node;
      return { ...rest, type: branches[0]?.type ?? 'string', enum: branches.map((b) => b.const ?? null) };
    }
  }
  if ('const' in node) {
    const { const: value, ...rest } = node;
    return { ...rest, enum: [value ?? null] };
  }
  return node;
}

const SUBSCHEMA = new Set(['items', 'additionalProperties', 'not']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf']);
const SCHEMA_MAPS = new Set(['properties', 'patternProperties']);

/** Walks schema positions only: property names, defaults, enums and `x-kubernetes-*` values are data. */
function schemaNode(value: JSONObject): JSONObject {
  const out: JSONObject = {};
  for (const [key, child] of Object.entries(collapseLiterals(value))) {
    if (DROPPED.has(key)) continue;
    if (SCHEMA_MAPS.has(key) && isObject(child)) {
      out[key] = Object.fromEntries(Object.entries(child).map(([name, s]) => [name, isObject(s) ? schemaNode(s) : s]));
    } else if (SUBSCHEMA.has(key) && isObject(child)) {
      out[key] = schemaNode(child);
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(child)) {
      out[key] = child.map((s) => (isObject(s) ? schemaNode(s) : s));
    } else {
      out[key] = child;
    }
  }
  return out;
}

export function toStructuralSchema(schema: TSchema): JSONObject {
  // The JSON round-trip drops TypeBox's symbol-keyed metadata (Kind, Optional).
  const plain = JSON.parse(JSON.stringify(schema)) as JSONValue;
  if (!isObject(plain)) throw new Error('CRD schema must be an object schema');
  return schemaNode(plain);
}

export function buildCRD(spec: CRDSpec): JSONObject {
  const storage = spec.versions.filter((v) => v.storage ?? spec.versions.length === 1);
  if (storage.length !== 1) throw new Error(`CRD ${spec.plural}.${spec.group}: exactly one storage version required`);
  const names: JSONObject = {
    kind: spec.kind,
    listKind: spec.listKind ?? `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.singular ?? spec.kind.toLowerCase(),
  };
  if (spec.shortNames) names.shortNames = spec.shortNames;
  if (spec.categories) names.categories = spec.categories;
  const metadata: JSONObject = { name: `${spec.plural}.${spec.group}` };
  if (spec.labels) metadata.labels = { ...spec.labels };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata,
    spec: {
      group: spec.group,
      names,
      scope: spec.scope,
      versions: spec.versions.map((v) => {
        const version: JSONObject = {
          name: v.name,
          served: v.served ?? true,
          storage: v.storage ?? spec.versions.length === 1,
          schema: { openAPIV3Schema: toStructuralSchema(v.schema) },
        };
        if (v.deprecated) version.deprecated = true;
        if (v.printerColumns) version.additionalPrinterColumns = v.printerColumns.map((c) => ({ ...c }));
        if (v.subresources) {
          const sub: JSONObject = {};
          if (v.subresources.status) sub.status = {};
          if (v.subresources.scale) sub.scale = { ...v.subresources.scale };
          version.subresources = sub;
        }
        return version;
      }),
    },
  };
}
