/**
 * stderr of a render without its lines about the Secrets the bundle needs
 * (`<source>: <ns>/<name>: <field>: Secret ns/x must exist ...`, issue 19 §1):
 * what is left are the warnings a test is about.
 */
export function withoutRequiredSecrets(err: string | string[]): string {
  const text = Array.isArray(err) ? err.join('') : err;
  return text.split('\n').filter(l => !/^cdk8s-frp: warning: .*: Secret \S+ must exist \(the bundle reads it, /.test(l)).join('\n');
}
