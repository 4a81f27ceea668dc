/**
 * No secret values in a bundle (DESIGN §5: reference Secrets by name; frp configs read
 * secrets through `{{ .Envs.NAME }}` from env vars sourced from Secrets).
 *
 * Checked:
 * - no Secret object carries a non-empty `data` or `stringData`;
 * - no container env var whose name looks secret (TOKEN, SECRET, PASSWORD, PASSWD,
 *   API_KEY/APIKEY, PRIVATE) has a literal `value` or comes from a ConfigMap: it must use
 *   `valueFrom.secretKeyRef` (fieldRef/resourceFieldRef are allowed);
 * - frp TOML in ConfigMaps (every data key ending in `.toml`) has no literal non-empty
 *   `token`, `password`, `httpPassword`, `clientSecret`, `groupKey` or `secretKey`, at any
 *   depth (`auth.token`, `[webServer] password`, `loadBalancer.groupKey`, ...); only a
 *   value that is exactly one `{{ .Envs.NAME }}` reference passes.
 *
 * Not checked: secrets hidden in other ConfigMap formats (haproxy.cfg, ...), in args or
 * command lines, or in annotations; empty strings (they leak nothing; whether auth may
 * be empty is a separate rule).
 */
import { isEnvTemplate, parseFrpToml } from './frp-keys';
import { isPlainObject, joinPath, objectLabel, problem } from './k8s-schema';
import { containersOf, podTemplateOf } from './pod-security';

const SECRET_ENV_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE)/i;
/** frp keys whose values are credentials. */
const SECRET_TOML_KEYS = new Set(['token', 'password', 'httpPassword', 'clientSecret', 'groupKey', 'secretKey']);

/** Checks a whole bundle; returns problems formatted as `Kind/name: path: message`. */
export function checkNoSecretValues(manifests: readonly any[]): string[] {
  const out: string[] = [];
  for (const obj of manifests) {
    if (!isPlainObject(obj)) continue;
    const label = objectLabel(obj);
    if (obj.kind === 'Secret' && obj.apiVersion === 'v1') {
      for (const field of ['data', 'stringData'] as const) {
        const keys = isPlainObject(obj[field]) ? Object.keys(obj[field]) : [];
        if (keys.length) out.push(problem(label, field, `Secret carries literal values (${keys.join(', ')}); create Secrets outside the bundle and reference them by name`));
      }
    }
    const tpl = podTemplateOf(obj);
    if (tpl && isPlainObject(tpl.spec)) {
      for (const { container, path } of containersOf(tpl.spec, tpl.specPath)) {
        const env: unknown[] = Array.isArray(container?.env) ? container.env : [];
        env.forEach((e: any, i) => {
          if (typeof e?.name !== 'string' || !SECRET_ENV_NAME.test(e.name)) return;
          const at = `${joinPath(path, 'env')}[${i}]`;
          if (e.value !== undefined) out.push(problem(label, joinPath(at, 'value'), `env ${e.name} looks secret but has a literal value; use valueFrom.secretKeyRef`));
          else if (e.valueFrom?.configMapKeyRef) out.push(problem(label, joinPath(at, 'valueFrom'), `env ${e.name} looks secret but comes from a ConfigMap; use valueFrom.secretKeyRef`));
        });
      }
    }
    if (obj.kind === 'ConfigMap' && isPlainObject(obj.data)) {
      for (const [key, text] of Object.entries(obj.data)) {
        if (!key.endsWith('.toml') || typeof text !== 'string') continue;
        let doc: Record<string, unknown>;
        try {
          doc = parseFrpToml(text);
        } catch {
          continue; // unparsable TOML is reported by checkFrpToml
        }
        for (const [at, value] of secretLeaves(doc, '')) {
          out.push(problem(label, `${joinPath('data', key)} ${at}`, `literal credential ${JSON.stringify(mask(value))}; use "{{ .Envs.NAME }}" with NAME from a secretKeyRef env var`));
        }
      }
    }
  }
  return out;
}

/** `[path, value]` of every literal, non-empty string under a credential key. */
function secretLeaves(value: unknown, at: string): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => found.push(...secretLeaves(v, joinPath(at, i))));
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const here = joinPath(at, k);
      if (SECRET_TOML_KEYS.has(k) && typeof v === 'string' && v !== '' && !isEnvTemplate(v)) found.push([here, v]);
      else found.push(...secretLeaves(v, here));
    }
  }
  return found;
}

/** Never print a whole secret into a test log. */
function mask(value: string): string {
  return value.length <= 4 ? '****' : `${value.slice(0, 2)}****`;
}
