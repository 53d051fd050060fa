// Maps JSON pointers ("/steps/fit/params/count") to where they are in the
// source text, so validation errors can be shown at their line. A tolerant
// recursive-descent scan: it records the offset of every value and key and
// stops quietly at the first syntax error.
export function locate(text) {
  const spots = new Map(); // pointer -> {start, end} of the value (or key, for "#key")
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const esc = (s) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  function str() {
    const start = i++;
    let out = "";
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") { out += JSON.parse(`"${text.slice(i, text[i + 1] === "u" ? i + 6 : i + 2)}"`); i += text[i + 1] === "u" ? 6 : 2; }
      else out += text[i++];
    }
    if (i >= text.length) throw new Error("eof");
    i++;
    return { value: out, start };
  }
  function value(ptr) {
    ws();
    const start = i;
    const c = text[i];
    if (c === "{") {
      i++; ws();
      if (text[i] === "}") i++;
      else for (;;) {
        ws();
        if (text[i] !== '"') throw new Error("key");
        const key = str();
        const child = `${ptr}/${esc(key.value)}`;
        spots.set(child + "#key", { start: key.start, end: i });
        ws(); if (text[i++] !== ":") throw new Error(":");
        value(child);
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; break; }
        throw new Error("}");
      }
    } else if (c === "[") {
      i++; ws();
      if (text[i] === "]") i++;
      else for (let n = 0; ; n++) {
        value(`${ptr}/${n}`);
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; break; }
        throw new Error("]");
      }
    } else if (c === '"') str();
    else {
      const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
      if (!m) throw new Error("value");
      i += m[0].length;
    }
    spots.set(ptr, { start, end: i });
  }
  try { value(""); } catch { /* keep what was found */ }
  return spots;
}

// The 1-based line of `pointer`, or of its nearest ancestor that exists.
// Returns {line, exact}.
export function lineOf(text, spots, pointer) {
  let p = pointer;
  for (;;) {
    const spot = spots.get(p + "#key") || spots.get(p);
    if (spot) return { line: text.slice(0, spot.start).split("\n").length, exact: p === pointer };
    if (!p) return { line: 1, exact: false };
    p = p.slice(0, p.lastIndexOf("/"));
  }
}
