// The one phrasing kvcloud uses for Kamaji fields it does not implement, so a user reading a rejection always learns
// which field to remove.
import { rule, type ValidationRule } from '../../../lib/crd/validation-rules.js';

export function unsupportedMessage(field: string, why: string): string {
  return `kvcloud does not support ${field}: ${why}; remove it`;
}

/** Rejects the field whenever it is present. */
export function rejectField(parentPath: string, name: string, why: string): ValidationRule {
  return rule(`!has(self.${name})`, unsupportedMessage(`${parentPath}.${name}`, why), { fieldPath: `.${name}`, reason: 'FieldValueForbidden' });
}
