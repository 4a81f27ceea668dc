import { stringify } from 'smol-toml';

/** Stringifies a config tree; a trailing newline keeps files POSIX-friendly. @internal */
export function stringifyToml(tree: Record<string, unknown>): string {
  const text = stringify(tree);
  return text.endsWith('\n') ? text : `${text}\n`;
}
