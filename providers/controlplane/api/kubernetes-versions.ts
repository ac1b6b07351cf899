// The Kubernetes minors kvcloud runs for a tenant control plane: admission (CEL in the generated CRDs) refuses a
// version outside them. e2e/tools/versions.env pins the programs built and proven for exactly this range
// (KUBERNETES_VERSION the newest, KUBERNETES_OLDER_VERSIONS down to the oldest); localcloud/versions.test.ts fails
// when the two disagree, so a bump changes both in one commit.

export const SUPPORTED_KUBERNETES_MINORS = { oldest: 35, newest: 37 } as const;

/** The range as messages print it. */
export const SUPPORTED_KUBERNETES_RANGE = `v1.${String(SUPPORTED_KUBERNETES_MINORS.oldest)} to v1.${String(SUPPORTED_KUBERNETES_MINORS.newest)}`;

/**
 * The rule on a version field refusing a release outside the range. `field` names it in the message, `regex` is the
 * field's release pattern (a value not matching it is refused by that rule instead), `major` and `minor` are CEL
 * int expressions reading the numbers out of `self`.
 */
export function supportedVersionRule(field: string, regex: string, major: string, minor: string): { rule: string; message: string; messageExpression: string } {
  const { oldest, newest } = SUPPORTED_KUBERNETES_MINORS;
  const why = `is not a Kubernetes version kvcloud supports: ${SUPPORTED_KUBERNETES_RANGE}`;
  return {
    rule: `!self.matches('${regex}') || (${major} == 1 && ${minor} >= ${String(oldest)} && ${minor} <= ${String(newest)})`,
    message: `${field} ${why}`,
    messageExpression: `'${field} ' + self + ' ${why}'`,
  };
}
