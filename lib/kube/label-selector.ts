// Label selectors in their string form ("app=web,tier!=db,env in (a,b),!legacy"), parsed once and matched in
// memory, so cached lists filter exactly as the apiserver would.

type Requirement =
  | { key: string; op: 'in' | 'notin'; values: Set<string> }
  | { key: string; op: 'exists' | 'doesnotexist' };

export interface LabelSelector {
  readonly source: string;
  matches(labels: Record<string, string> | undefined): boolean;
}

// Splits on commas that are not inside a parenthesised value list.
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function parseTerm(term: string): Requirement {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = new Set((set[3] ?? '').split(',').map((v) => v.trim()));
    return { key: set[1] ?? '', op: set[2] === 'in' ? 'in' : 'notin', values };
  }
  const ne = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(term);
  if (ne) return { key: ne[1] ?? '', op: 'notin', values: new Set([ne[2] ?? '']) };
  const eq = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(term);
  if (eq) return { key: eq[1] ?? '', op: 'in', values: new Set([eq[2] ?? '']) };
  const absent = /^!\s*([^\s!=]+)$/.exec(term);
  if (absent) return { key: absent[1] ?? '', op: 'doesnotexist' };
  if (/^[^\s!=(),]+$/.test(term)) return { key: term, op: 'exists' };
  throw new Error(`label selector term "${term}" is not valid`);
}

function satisfied(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  switch (req.op) {
    case 'exists':
      return has;
    case 'doesnotexist':
      return !has;
    case 'in':
      return has && req.values.has(labels[req.key] ?? '');
    case 'notin':
      return !has || !req.values.has(labels[req.key] ?? '');
  }
}

export function parseLabelSelector(selector: string): LabelSelector {
  const requirements = splitTerms(selector).map(parseTerm);
  return {
    source: selector,
    matches: (labels) => requirements.every((r) => satisfied(r, labels ?? {})),
  };
}

/** The string form of a matchLabels map, for list and watch requests. */
export function selectorFromLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
