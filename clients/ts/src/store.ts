/**
 * Persistence of the replica and the outbox. A device saves after every
 * change so that a restart (or a browser reload while offline) resumes with
 * its unsent edits. `MemoryStore` here; `IndexedDbStore` for browsers;
 * `FileStore` in `@baton/client/node`.
 */
import type { Persisted } from './engine.js';

/** Where a client keeps its state. */
export interface Store {
  /** The last saved state, or `undefined` for a new device. */
  load(): Promise<Persisted | undefined>;
  /** Replaces the saved state. */
  save(state: Persisted): Promise<void>;
}

/** Keeps the state in memory (tests; a process that restarts starts empty). */
export class MemoryStore implements Store {
  private text: string | undefined;
  async load(): Promise<Persisted | undefined> {
    return this.text === undefined ? undefined : (JSON.parse(this.text) as Persisted);
  }
  async save(state: Persisted): Promise<void> {
    this.text = JSON.stringify(state);
  }
}

/** Keeps the state in IndexedDB (browsers): it survives a reload, also offline. */
export class IndexedDbStore implements Store {
  private db: Promise<IDBDatabase> | undefined;

  /** `name`: the database name (one per user and device, e.g. `baton:alice:phone-1`). */
  constructor(private readonly name: string) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(this.name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore('state');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('indexedDB.open failed'));
    });
    return this.db;
  }

  async load(): Promise<Persisted | undefined> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const req = db.transaction('state', 'readonly').objectStore('state').get('replica');
      req.onsuccess = () => resolve(req.result === undefined ? undefined : (JSON.parse(req.result as string) as Persisted));
      req.onerror = () => reject(req.error ?? new Error('indexedDB get failed'));
    });
  }

  async save(state: Persisted): Promise<void> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction('state', 'readwrite');
      tx.objectStore('state').put(JSON.stringify(state), 'replica');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('indexedDB put failed'));
    });
  }
}
