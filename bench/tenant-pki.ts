// Benchmark: one tenant's whole PKI set (2 CAs, 5 leaves, the service-account key pair, 6 kubeconfig client
// certificates), generated with each key algorithm the operator offers, in one run: ECDSA P-256 (the default) is the
// baseline, and each RSA size prints its median time and its ratio to it. Key generation is CPU-bound, so this is what
// a TenantControlPlane's first reconcile costs the operator; RSA-4096 takes seconds per key.
// Run: tsx bench/tenant-pki.ts [sets=3]
import type { KeyAlgorithm } from '../lib/pki/x509.js';
import { DEFAULT_PKI_OPTIONS } from '../providers/controlplane/pki/index.js';
import { tenantPKI } from '../e2e/harness/tenant-pki.js';

const SETS = Number(process.argv[2] ?? 3);
if (!Number.isInteger(SETS) || SETS < 1) throw new Error(`sets must be a positive integer, got ${process.argv[2] ?? ''}`);

async function medianMs(keyAlgorithm: KeyAlgorithm, sets: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < sets; i++) {
    const started = performance.now();
    await tenantPKI({ ...DEFAULT_PKI_OPTIONS, keyAlgorithm }, 6443);
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[Math.floor(sets / 2)] ?? 0;
}

const baseline = await medianMs('ECDSA-P256', SETS);
console.log(`tenant PKI set, median of ${String(SETS)}: ECDSA-P256 ${baseline.toFixed(0)} ms (baseline)`);
for (const algorithm of ['RSA-2048', 'RSA-4096'] as const) {
  const ms = await medianMs(algorithm, SETS);
  console.log(`tenant PKI set, median of ${String(SETS)}: ${algorithm} ${ms.toFixed(0)} ms, ${(ms / baseline).toFixed(1)}x the baseline`);
}
