// YAML scalars as text: userdata authors write `permissions: 0640`, `value: 8080` or `value: true` where the
// program wants the string.

export function scalarText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}
