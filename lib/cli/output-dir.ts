import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';

/**
 * The record of what `render --output-dir` wrote into a directory: one file
 * name a line. Argo CD and kubectl apply only *.yaml, *.yml and *.json, so it
 * is never applied.
 * @internal
 */
export const OUTPUT_DIR_RECORD = '.cdk8s-frp-rendered';

/** The files render writes into a directory: `<namespace>.k8s.yaml`. */
const RENDERED = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.k8s\.yaml$/;

const HEADER = '# Written by `cdk8s-frp render --output-dir`: the files it owns in this directory.\n'
  + '# A later render removes those it no longer writes; other files are never touched.\n';

/**
 * Writes `files` (name -> text) into `dir` as render's own: files a previous
 * render recorded and this one does not write are removed (two frps in one
 * folder would both be applied); files render did not write are never
 * touched. Refused, before anything is written, when a file to write exists
 * but is not render's own, or when `dir` holds rendered-looking files
 * (`*.k8s.yaml`) without a record. Returns the paths written.
 * @internal
 */
export function writeOwnedDir(dir: string, files: Map<string, string>): string[] {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`--output-dir ${dir}: is not a directory`);
  const present = existsSync(dir) ? readdirSync(dir) : [];
  const recordPath = join(dir, OUTPUT_DIR_RECORD);
  const hasRecord = present.includes(OUTPUT_DIR_RECORD);
  // only names render writes: a changed record must not delete anything else
  const owned = new Set(hasRecord ? readFileSync(recordPath, 'utf8').split('\n').filter(l => RENDERED.test(l)) : []);
  const foreign = present.filter(f => RENDERED.test(f) && !owned.has(f));
  if (foreign.length > 0) {
    throw new Error(`--output-dir ${dir}: ${foreign.join(', ')} ${foreign.length === 1 ? 'was' : 'were'} not written by cdk8s-frp render `
      + `(${hasRecord ? `not in ${OUTPUT_DIR_RECORD}` : `no ${OUTPUT_DIR_RECORD} here`}): remove ${foreign.length === 1 ? 'it' : 'them'} or render into another directory, `
      + 'so that no file of an earlier render is applied next to this one');
  }
  mkdirSync(dir, { recursive: true });
  // recorded before they are written: an interrupted render leaves nothing unowned
  const record = (names: Iterable<string>) => writeFileSync(recordPath, `${HEADER}${[...new Set(names)].sort().join('\n')}\n`);
  record([...owned, ...files.keys()]);
  const written: string[] = [];
  for (const [name, text] of files) {
    if (!RENDERED.test(name)) throw new Error(`internal: ${name} is not a rendered file name`);
    writeFileSync(join(dir, name), text);
    written.push(join(dir, name));
  }
  for (const stale of owned) if (!files.has(stale) && present.includes(stale)) rmSync(join(dir, stale));
  record(files.keys());
  return written;
}
