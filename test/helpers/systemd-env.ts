/**
 * systemd's EnvironmentFile= parser, byte for byte: a port of
 * parse_env_file_internal() and the UTF-8 check of load_env_file() in systemd's
 * src/basic/env-file.c (states PRE_KEY ... COMMENT_ESCAPE; unquoted values lose
 * trailing whitespace, single quotes keep everything, double quotes unescape
 * `"` `\` `` ` `` `$` and eat an escaped newline; a value that is not valid UTF-8
 * is ignored with an error). Tests use it to check what frpc on a machine gets
 * from the frpc.env the export script writes.
 */
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NEWLINE = new Set([0x0a, 0x0d]);
const COMMENTS = new Set([0x23, 0x3b]);
const SHELL_NEED_ESCAPE = new Set([0x22, 0x5c, 0x60, 0x24]);

/** The variables systemd sets from an EnvironmentFile (values as bytes; invalid UTF-8 ones dropped). */
export function parseSystemdEnvFile(file: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  type State = 'PRE_KEY' | 'KEY' | 'PRE_VALUE' | 'VALUE' | 'VALUE_ESCAPE' | 'SQ' | 'DQ' | 'DQ_ESCAPE' | 'COMMENT' | 'COMMENT_ESCAPE';
  let state: State = 'PRE_KEY';
  let key: number[] = [];
  let value: number[] = [];
  let lastKeyWs = -1;
  let lastValueWs = -1;
  const push = () => {
    const k = Buffer.from(lastKeyWs >= 0 ? key.slice(0, lastKeyWs) : key);
    const v = Buffer.from(value);
    if (validUtf8(k) && validUtf8(v)) out.set(k.toString('utf8'), v);
    key = [];
    value = [];
  };
  for (const c of file) {
    if (c === 0) break; // a C string
    switch (state) {
      case 'PRE_KEY':
        if (COMMENTS.has(c)) {state = 'COMMENT';} else if (!WHITESPACE.has(c)) { state = 'KEY'; lastKeyWs = -1; key.push(c); }
        break;
      case 'KEY':
        if (NEWLINE.has(c)) { state = 'PRE_KEY'; key = []; } else if (c === 0x3d) { state = 'PRE_VALUE'; lastValueWs = -1; } else {
          if (!WHITESPACE.has(c)) lastKeyWs = -1; else if (lastKeyWs < 0) lastKeyWs = key.length;
          key.push(c);
        }
        break;
      case 'PRE_VALUE':
        if (NEWLINE.has(c)) { state = 'PRE_KEY'; push(); } else if (c === 0x27) {state = 'SQ';} else if (c === 0x22) {state = 'DQ';} else if (c === 0x5c) {state = 'VALUE_ESCAPE';} else if (!WHITESPACE.has(c)) { state = 'VALUE'; value.push(c); }
        break;
      case 'VALUE':
        if (NEWLINE.has(c)) {
          state = 'PRE_KEY';
          if (lastValueWs >= 0) value = value.slice(0, lastValueWs);
          push();
        } else if (c === 0x5c) { state = 'VALUE_ESCAPE'; lastValueWs = -1; } else {
          if (!WHITESPACE.has(c)) lastValueWs = -1; else if (lastValueWs < 0) lastValueWs = value.length;
          value.push(c);
        }
        break;
      case 'VALUE_ESCAPE':
        state = 'VALUE';
        if (!NEWLINE.has(c)) value.push(c);
        break;
      case 'SQ':
        if (c === 0x27) state = 'PRE_VALUE'; else value.push(c);
        break;
      case 'DQ':
        if (c === 0x22) state = 'PRE_VALUE'; else if (c === 0x5c) state = 'DQ_ESCAPE'; else value.push(c);
        break;
      case 'DQ_ESCAPE':
        state = 'DQ';
        if (SHELL_NEED_ESCAPE.has(c)) value.push(c); else if (c !== 0x0a) value.push(0x5c, c);
        break;
      case 'COMMENT':
        if (c === 0x5c) state = 'COMMENT_ESCAPE'; else if (NEWLINE.has(c)) state = 'PRE_KEY';
        break;
      case 'COMMENT_ESCAPE':
        state = NEWLINE.has(c) ? 'PRE_KEY' : 'COMMENT';
        break;
    }
  }
  if (['PRE_VALUE', 'VALUE', 'VALUE_ESCAPE', 'SQ', 'DQ', 'DQ_ESCAPE'].includes(state)) {
    if (state === 'VALUE' && lastValueWs >= 0) value = value.slice(0, lastValueWs);
    push();
  }
  return out;
}

/** Whether bytes are valid UTF-8 (what systemd's utf8_is_valid() accepts). */
export function validUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}
