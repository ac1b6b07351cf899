// CEL rules for a schema's `x-kubernetes-validations`: each carries the message the apiserver returns when it
// fails, which names the field and the fix.
import type { TSchema } from '@sinclair/typebox';

export interface ValidationRule {
  rule: string;
  message: string;
  /** Where the apiserver reports the error, relative to the node carrying the rule. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export function rule(expression: string, message: string, extra: Omit<ValidationRule, 'rule' | 'message'> = {}): ValidationRule {
  return { rule: expression, message, ...extra };
}

/** The schema keyword holding `list`, to spread into a schema's options. */
export const rules = (...list: ValidationRule[]) => ({ 'x-kubernetes-validations': list });

/**
 * The schema with more rules. Transition rules (oldSelf) go on an object's own spec only, never on a spec shared
 * with a template: there they would refuse Cluster API's topology dry-runs.
 */
export function withRules<T extends TSchema>(schema: T, extra: ValidationRule[]): T {
  const existing = (schema['x-kubernetes-validations'] as ValidationRule[] | undefined) ?? [];
  return { ...schema, 'x-kubernetes-validations': [...existing, ...extra] };
}
