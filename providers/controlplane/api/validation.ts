// CEL rule records for `x-kubernetes-validations`, and the one phrasing kvcloud uses for Kamaji fields it does not
// implement, so a user reading a rejection always learns which field to remove.

export interface ValidationRule {
  rule: string;
  message: string;
  /** JSONPath of the field the error is reported on, relative to the node carrying the rule. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export function rule(expression: string, message: string, extra: Omit<ValidationRule, 'rule' | 'message'> = {}): ValidationRule {
  return { rule: expression, message, ...extra };
}

export function unsupportedMessage(field: string, why: string): string {
  return `kvcloud does not support ${field}: ${why}; remove it`;
}

/** Rejects the field whenever it is present. */
export function rejectField(parentPath: string, name: string, why: string): ValidationRule {
  return rule(`!has(self.${name})`, unsupportedMessage(`${parentPath}.${name}`, why), { fieldPath: `.${name}`, reason: 'FieldValueForbidden' });
}

/** One RFC 1123 DNS subdomain, optionally with a leading wildcard label (certificate SANs allow `*.example.com`). */
export const DNS_NAME_REGEX = '^([*][.])?[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
