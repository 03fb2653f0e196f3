/**
 * The outbox: the device's own ops not yet acknowledged, in seq order, with
 * the numbering rules of PROTOCOL.md §3. Seqs are contiguous; a refused op
 * does not consume its seq, so the ops after it are renumbered (and the
 * replies the server still owes for their old numbers — `seq_gap` — are
 * expected and ignored); after a reconnect the ops the server applied are
 * dropped and the rest renumbered from `welcome.next_seq`. Own dots that
 * later ops list in `observed` follow their op's new number.
 */
import type { Dot, Op } from './wire.js';

/** One unacknowledged op. */
export interface Pending {
  seq: number;
  op: Op;
  /** Sent on the current connection and not yet answered. */
  sent: boolean;
}

/** The outbox of one device. */
export class Outbox {
  /** Unacknowledged ops, in seq order. */
  readonly ops: Pending[] = [];
  /** The seq the server expects next, as far as the device knows. */
  base = 1;
  /** Old seqs of sent frames whose (error) replies are still owed after a renumbering. */
  readonly stale = new Set<number>();

  constructor(private readonly me: () => string) {}

  /** Queues an op; returns its seq. */
  push(op: Op): number {
    const last = this.ops[this.ops.length - 1];
    const seq = last ? last.seq + 1 : this.base;
    this.ops.push({ seq, op, sent: false });
    return seq;
  }

  /** Number of ops sent and unanswered. */
  inflight(): number {
    return this.ops.reduce((n, p) => n + (p.sent ? 1 : 0), 0);
  }

  /** Index of the sent op `seq`, or -1. */
  indexOf(seq: number): number {
    return this.ops.findIndex((p) => p.seq === seq);
  }

  /** Removes the op `seq` because the server applied it (ack, or seen in catch-up). */
  applied(seq: number): Pending | undefined {
    const i = this.indexOf(seq);
    if (i < 0) return undefined;
    const [p] = this.ops.splice(i, 1);
    if (this.base <= seq) this.base = seq + 1;
    return p;
  }

  /**
   * The server answered op `seq` with a refusal. `drop`: the op is gone (not
   * retryable); otherwise it stays, unsent. Every later op that was sent will
   * be answered `seq_gap` for its old number: those numbers become stale.
   * The op (if kept) and the rest are renumbered from `from` (the refused
   * seq, or `expected_seq` of a `seq_gap`).
   */
  refused(seq: number, drop: boolean, from: number = seq): Pending | undefined {
    const i = this.indexOf(seq);
    if (i < 0) return undefined;
    const p = this.ops[i] as Pending;
    for (const q of this.ops.slice(i + 1)) {
      if (q.sent) this.stale.add(q.seq);
    }
    for (const q of this.ops.slice(i)) q.sent = false;
    const dropped = new Set<number>();
    if (drop) {
      this.ops.splice(i, 1);
      dropped.add(seq);
    }
    this.relabel(i, from, dropped);
    this.base = from;
    return p;
  }

  /**
   * After `synced`: ops with seq below `nextSeq` or covered by `ownVv` were
   * applied by the server (their dots exist); the rest are renumbered from
   * `nextSeq` and will be resent.
   */
  resume(nextSeq: number, ownVv: number): void {
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const p = this.ops[i] as Pending;
      if (p.seq < nextSeq || p.seq <= ownVv) this.ops.splice(i, 1);
    }
    for (const p of this.ops) p.sent = false;
    this.stale.clear();
    this.relabel(0, nextSeq, new Set());
    this.base = nextSeq;
  }

  /** The connection is gone: nothing is in flight any more. */
  disconnected(): void {
    for (const p of this.ops) p.sent = false;
    this.stale.clear();
  }

  /** Drops ops the replica's own `vv` covers (applied, e.g. seen in a snapshot). */
  covered(ownVv: number): void {
    for (let i = this.ops.length - 1; i >= 0; i--) {
      if ((this.ops[i] as Pending).seq <= ownVv) this.ops.splice(i, 1);
    }
  }

  /** Renumbers ops from index `from` starting at `start`; rewrites own dots in `observed`. */
  private relabel(from: number, start: number, dropped: Set<number>): void {
    const moved = new Map<number, number>();
    this.ops.slice(from).forEach((p, k) => {
      if (p.seq !== start + k) moved.set(p.seq, start + k);
      p.seq = start + k;
    });
    if (moved.size === 0 && dropped.size === 0) return;
    const me = this.me();
    const fix = (dots: Dot[]): Dot[] =>
      dots
        .filter((d) => !(d[0] === me && dropped.has(d[1]) && !moved.has(d[1])))
        .map((d) => (d[0] === me && moved.has(d[1]) ? [me, moved.get(d[1]) as number] : d));
    for (const p of this.ops) {
      if (p.op.kind === 'watchlist_remove') p.op = { ...p.op, observed: fix(p.op.observed) };
      if (p.op.kind === 'watchlist_add' && p.op.observed) p.op = { ...p.op, observed: fix(p.op.observed) };
    }
  }
}
