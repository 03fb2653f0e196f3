/**
 * The preferences document: an Automerge document whose changes travel as
 * base64 change bytes in `preferences` ops (crdt/src/prefs.rs is the server's
 * side: it applies device changes and never edits).
 */
import * as A from '@automerge/automerge';
import { fromBase64, sortedKeys, toBase64 } from './order.js';

/** The document type: a JSON-like map. */
export type PrefsDoc = A.Doc<Record<string, unknown>>;

/** An empty document authored by `actor` (hex). */
export function emptyPrefs(actor?: string): PrefsDoc {
  return actor ? A.init({ actor }) : A.init();
}

/** Loads `save()` bytes in base64 (`""` = empty document). */
export function loadPrefs(b64: string, actor?: string): PrefsDoc {
  if (b64 === '') return emptyPrefs(actor);
  const bytes = fromBase64(b64);
  return actor ? A.load(bytes, { actor }) : A.load(bytes);
}

/** `save()` bytes in base64; `""` for a document without history. */
export function savePrefs(doc: PrefsDoc): string {
  if (A.getHeads(doc).length === 0) return '';
  return toBase64(A.save(doc));
}

/** Applies base64 change bytes; throws on bytes that do not decode or lack dependencies. */
export function applyPrefs(doc: PrefsDoc, changes: readonly string[]): PrefsDoc {
  const bytes = changes.map(fromBase64);
  const [next] = A.applyChanges(doc, bytes);
  const missing = A.getMissingDeps(next, A.getHeads(next));
  if (missing.length > 0) throw new RangeError(`${missing.length} missing dependencies`);
  return next;
}

/** A copy with another actor (for the device's own edits). */
export function clonePrefs(doc: PrefsDoc, actor?: string): PrefsDoc {
  return actor ? A.clone(doc, { actor }) : A.clone(doc);
}

/** Makes a local edit; returns the new document and its change (base64), or none if nothing changed. */
export function changePrefs(
  doc: PrefsDoc,
  edit: (d: Record<string, unknown>) => void,
): { doc: PrefsDoc; change?: string } {
  const before = A.getHeads(doc);
  const next = A.change(doc, edit);
  const after = A.getHeads(next);
  if (after.length === before.length && after.every((h, i) => h === before[i])) {
    return { doc: next };
  }
  const change = A.getLastLocalChange(next);
  return { doc: next, change: change ? toBase64(change) : undefined };
}

/** The document as JSON, as the server's `/state` shows it (keys sorted). */
export function prefsJson(doc: PrefsDoc): Record<string, unknown> {
  return sortedKeys(plain(A.toJS(doc))) as Record<string, unknown>;
}

function plain(v: unknown): unknown {
  if (v instanceof Date) return v.getTime();
  if (v instanceof Uint8Array) return Array.from(v);
  if (v instanceof A.Counter) return v.value;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      return (v as { toJSON: () => unknown }).toJSON();
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}
