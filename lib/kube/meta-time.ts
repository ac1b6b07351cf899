// The apiserver's two timestamp encodings: metav1.Time (RFC 3339, whole seconds) and metav1.MicroTime (six
// fractional digits). Writing the wrong precision makes a value we wrote differ from what we read back.

export function metaTime(at: Date | number = new Date()): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function microTime(at: Date | number = new Date()): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
