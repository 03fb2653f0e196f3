/**
 * Orderings and JSON text that match the Rust server byte for byte: strings
 * compare by code point (the order of their UTF-8 bytes, as Rust's `str`),
 * objects print with keys in that order (serde_json's `BTreeMap`).
 */

/** Compares two strings by code point (= UTF-8 byte order). */
export function cmpStr(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800..0xDFFF) stand for code points above 0xFFFF, which
    // sort after every BMP unit even though 0xE000..0xFFFF are numerically larger.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Compares two dots `(device, seq)`. */
export function cmpDot(a: readonly [string, number], b: readonly [string, number]): number {
  return cmpStr(a[0], b[0]) || a[1] - b[1];
}

/** A copy of `obj` with its keys in code-point order (recursively for plain objects). */
export function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort(cmpStr)) {
      out[k] = sortedKeys((value as Record<string, unknown>)[k]);
    }
    return out;
  }
  return value;
}

/** Standard base64 of bytes (padded). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of standard base64; throws `RangeError` on bad input. */
export function fromBase64(text: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(text);
  } catch {
    throw new RangeError('bad base64');
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
