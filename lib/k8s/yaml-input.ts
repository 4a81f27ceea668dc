/**
 * YAML in the user's words: a document's value, or what is wrong with it
 * (errors, undefined or circular aliases, alias bombs, nesting), within limits
 * a real manifest never meets. Shared by the CLI's `render`, `client-bundle`
 * and `import`.
 * @internal
 */
import { Document, isAlias, isMap, isPair, isSeq, parseAllDocuments, visit } from 'yaml';

/** YAML limits: aliases a document may expand, and how deep it may nest. @internal */
export const MAX_ALIAS_COUNT = 100;
/** @internal */
export const MAX_DEPTH = 64;

/** A parsed YAML document (of parseAllDocuments). @internal */
export type YamlDocument = ReturnType<typeof parseAllDocuments>[number];

/** A document's value, or what is wrong with its YAML in the user's words. @internal */
export function documentValue(doc: YamlDocument): { value?: unknown; error?: string } {
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    if (/call stack/i.test(e.message)) return { error: `invalid YAML: nested deeper than ${MAX_DEPTH} levels${at}` };
    return { error: `invalid YAML: ${e.message.split('\n')[0]}` };
  }
  const depth = nestingDepth(doc.contents);
  if (depth > MAX_DEPTH) return { error: `invalid YAML: nested deeper than ${MAX_DEPTH} levels` };
  const cycle = aliasCycle(doc);
  if (cycle) return { error: cycle };
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (e) {
    const message = (e as Error).message;
    const alias = /Unresolved alias[^:]*: (.*)$/.exec(message);
    if (alias) return { error: `invalid YAML: alias *${alias[1]} has no anchor &${alias[1]} before it in this document (anchors do not reach across documents)` };
    if (/Excessive alias count/.test(message)) return { error: `invalid YAML: aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} per alias; a "billion laughs" document?)` };
    if (e instanceof RangeError) return { error: `invalid YAML: nested deeper than ${MAX_DEPTH} levels` };
    return { error: `invalid YAML: ${message.split('\n')[0]}` };
  }
}

/**
 * The first alias that lies inside the node of its own anchor (`&m {labels: *m}`,
 * at any depth, a merge key `<<: *m` too): its value would contain itself, which
 * neither JSON nor Kubernetes can hold. An alias only refers to an anchor before
 * it, so this is the only way a document can be circular. One walk, in document
 * order. @internal
 */
export function aliasCycle(doc: Document.Parsed | Document): string | undefined {
  const anchors = new Map<string, unknown>();
  let found: string | undefined;
  visit(doc, {
    Node: (_key, node, path) => {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target !== undefined && path.includes(target as any)) {
          found = `invalid YAML: alias *${node.source} is inside its own anchor &${node.source}: the document would contain itself (a circular document cannot be rendered)`;
          return visit.BREAK;
        }
        return undefined;
      }
      if (node.anchor) anchors.set(node.anchor, node);
      return undefined;
    },
  });
  return found;
}

/** Nesting depth of a YAML node tree, without recursion (aliases are not followed). @internal */
export function nestingDepth(root: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (depth > MAX_DEPTH) break;
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) {
        if (isPair(item)) {
          stack.push([item.key, depth + 1]);
          stack.push([item.value, depth + 1]);
        } else {
          stack.push([item, depth + 1]);
        }
      }
    }
  }
  return max;
}
