// Kubernetes name formats as CEL-ready regular expressions (CEL string literals have no `\.` escape, so dots are
// matched with `[.]`), and a name field that says which format it wants when it refuses a value.
import { Type } from '@sinclair/typebox';
import { rules } from './validation-rules.js';

/** RFC 1123 label: most object names that become DNS labels (namespaces, Service ports by name). */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** RFC 1123 subdomain: most object names (Secrets, ConfigMaps). */
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** RFC 1035 label: names that must start with a letter (Services). */
export const DNS1035_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
/** A host name as a certificate carries it: an RFC 1123 subdomain, optionally with a leading wildcard label. */
export const DNS_NAME_OR_WILDCARD = '^([*][.])?[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** A string field holding the name of an object (a Secret, a namespace...), checked with a readable message. */
export function objectName(field: string, what: string, opts: { label?: boolean; description?: string } = {}) {
  const pattern = opts.label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  return Type.String({
    maxLength: opts.label ? 63 : 253,
    ...(opts.description ? { description: opts.description } : {}),
    ...rules({
      rule: `self.matches('${pattern}')`,
      message: `${field} must be ${what}: lowercase letters, digits and '-'${opts.label ? '' : " or '.'"}, starting and ending with a letter or digit`,
    }),
  });
}
