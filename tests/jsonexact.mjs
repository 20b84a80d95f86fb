// A small JSON parser that keeps numbers as their source text, so that
// comparisons see "1.50" and "1.5" as different (FHIR decimals are
// precision-significant; JSON.parse would hide a server that rounds them).
export function parseExact(text) {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  function value() {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; const o = {}; ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) { ws(); const k = str(); ws(); i++; o[k] = value(); ws(); if (text[i++] === '}') return o; }
    }
    if (c === '[') {
      i++; const a = []; ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) { a.push(value()); ws(); if (text[i++] === ']') return a; }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (!m) throw new Error('bad JSON at ' + i);
    i += m[0].length;
    return { $num: m[0] };
  }
  function str() {
    let j = i + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    const s = JSON.parse(text.slice(i, j + 1));
    i = j + 1;
    return s;
  }
  const v = value();
  return v;
}

// Deep equality, member order ignored; returns the path of the first difference or null.
export function diff(a, b, path = '') {
  if (a === b) return null;
  if (typeof a !== typeof b || a === null || b === null) return path || '(root)';
  if (Array.isArray(a) !== Array.isArray(b)) return path;
  if (Array.isArray(a)) {
    if (a.length !== b.length) return `${path} (length ${a.length} vs ${b.length})`;
    for (let k = 0; k < a.length; k++) { const d = diff(a[k], b[k], `${path}[${k}]`); if (d) return d; }
    return null;
  }
  if (typeof a === 'object') {
    if ('$num' in a || '$num' in b) return a.$num === b.$num ? null : `${path} (${a.$num} vs ${b.$num})`;
    const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
    if (ka.join() !== kb.join()) return `${path} (keys ${ka} vs ${kb})`;
    for (const k of ka) { const d = diff(a[k], b[k], `${path}.${k}`); if (d) return d; }
    return null;
  }
  return path || '(root)';
}
