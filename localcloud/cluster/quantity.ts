// Kubernetes resource quantities ("500m", "128Mi", "1e3") as numbers, for the downward API's resourceFieldRef,
// which reports limits and requests divided by a divisor and rounded up, as the kubelet does.
import type { Quantity } from './pod-api.js';

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

export function parseQuantity(q: Quantity): number {
  if (typeof q === 'number') return q;
  const m = QUANTITY.exec(q.trim());
  if (!m?.[1]) throw new Error(`"${q}" is not a resource quantity`);
  const exponent = m[2] ? Number(`1${m[2]}`) : 1;
  return Number(m[1]) * exponent * (SUFFIXES[m[3] ?? ''] ?? 1);
}

/** value / divisor rounded up to a whole number, the kubelet's rule for resourceFieldRef. */
export function divideRoundingUp(value: Quantity, divisor: Quantity = 1): string {
  const d = parseQuantity(divisor);
  if (d <= 0) throw new Error(`divisor "${divisor}" must be positive`);
  // A small tolerance keeps 0.1/0.001 (= 100.00000000000001 in floating point) at 100.
  return String(Math.ceil(parseQuantity(value) / d - 1e-9));
}
