//! CRDT micro-benchmarks on a 1,000-item watchlist, with the same op stream
//! done in Automerge as the baseline. Figures go to crdt/BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used)]

use baton_crdt::automerge::transaction::Transactable;
use baton_crdt::automerge::{AutoCommit, ObjType, ReadDoc, ROOT};
use baton_crdt::uhlc::{Timestamp, NTP64};
use baton_crdt::{
    hlc_id_for, ContentId, Dot, EntryMeta, Hlc, LoggedOp, LwwMap, Op, OrSet, Outcome, PlayState,
    Rules, UserDoc,
};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};

const N: u64 = 1_000;

fn cid(i: u64) -> ContentId {
    ContentId::parse(&format!("movie:{i}")).unwrap()
}

fn watchlist() -> OrSet<ContentId> {
    let mut s = OrSet::new();
    for i in 1..=N {
        s.add(
            cid(i),
            Dot::new("tv-1", i),
            EntryMeta { added_at_ms: i },
            &[],
        );
    }
    s
}

/// Times `f` only, around an untimed `reset`, so the set stays at 1,000.
fn timed<S>(
    state: &mut S,
    iters: u64,
    mut f: impl FnMut(&mut S, u64),
    mut reset: impl FnMut(&mut S, u64),
) -> Duration {
    let mut total = Duration::ZERO;
    for k in 0..iters {
        let t = Instant::now();
        f(state, k);
        total += t.elapsed();
        reset(state, k);
    }
    total
}

fn orset(c: &mut Criterion) {
    let mut g = c.benchmark_group("orset_1000");
    let base = watchlist();
    let extra = cid(999_999);
    g.bench_function("add", |b| {
        b.iter_custom(|iters| {
            let mut s = base.clone();
            timed(
                &mut s,
                iters,
                |s, k| {
                    black_box(s.add(
                        extra.clone(),
                        Dot::new("phone", k + 1),
                        EntryMeta::default(),
                        &[],
                    ));
                },
                |s, k| {
                    s.remove(&extra, &[Dot::new("phone", k + 1)]);
                },
            )
        })
    });
    g.bench_function("remove", |b| {
        b.iter_custom(|iters| {
            let mut s = base.clone();
            timed(
                &mut s,
                iters,
                |s, k| {
                    black_box(s.remove(
                        &cid(500),
                        &[Dot::new(
                            if k == 0 { "tv-1" } else { "phone" },
                            if k == 0 { 500 } else { k },
                        )],
                    ));
                },
                |s, k| {
                    s.add(
                        cid(500),
                        Dot::new("phone", k + 1),
                        EntryMeta::default(),
                        &[],
                    );
                },
            )
        })
    });
    g.bench_function("merge_delta", |b| {
        b.iter_custom(|iters| {
            let mut src = base.clone();
            let mut dst = base.clone();
            let mut total = Duration::ZERO;
            for k in 0..iters {
                let add = src.add(
                    extra.clone(),
                    Dot::new("phone", 2 * k + 1),
                    EntryMeta::default(),
                    &[],
                );
                let t = Instant::now();
                dst.join(black_box(&add));
                total += t.elapsed();
                let rm = src.remove(&extra, &[Dot::new("phone", 2 * k + 1)]);
                src.observe(&Dot::new("phone", 2 * k + 2));
                dst.join(&rm);
                dst.observe(&Dot::new("phone", 2 * k + 2));
            }
            total
        })
    });
    let mut other = watchlist();
    other.add(cid(5_000), Dot::new("web", 1), EntryMeta::default(), &[]);
    g.bench_function("merge_full_state", |b| {
        b.iter(|| {
            let mut s = base.clone();
            s.join(black_box(&other));
            s
        })
    });
    g.finish();
}

fn lww(c: &mut Criterion) {
    let mut g = c.benchmark_group("lww_1000");
    let id = hlc_id_for("tv-1");
    let mut base: LwwMap<ContentId, u64> = LwwMap::new();
    for i in 1..=N {
        base.set(cid(i), i, Timestamp::new(NTP64(i), id));
    }
    let keys: Vec<ContentId> = (1..=N).map(cid).collect();
    g.bench_function("set", |b| {
        let mut m = base.clone();
        let mut t = N;
        b.iter(|| {
            t += 1;
            black_box(m.set(
                keys[(t % N) as usize].clone(),
                t,
                Timestamp::new(NTP64(t), id),
            ))
        })
    });
    g.bench_function("merge_delta", |b| {
        let mut src = base.clone();
        let mut dst = base.clone();
        let mut t = N;
        b.iter_custom(|iters| {
            timed(
                &mut dst,
                iters,
                |dst, _| {
                    t += 1;
                    let (d, _) = src.set(
                        keys[(t % N) as usize].clone(),
                        t,
                        Timestamp::new(NTP64(t), id),
                    );
                    dst.join(black_box(&d));
                },
                |_, _| {},
            )
        })
    });
    g.finish();
}

fn userdoc_1000() -> UserDoc {
    let mut doc = UserDoc::new();
    let now = NTP64(1 << 40);
    for i in 1..=N {
        let op = Op::WatchlistAdd {
            content: cid(i),
            added_at_ms: i,
            observed: vec![],
        };
        doc.apply("tv-1", i, op, now, &Rules::default()).unwrap();
    }
    doc
}

fn userdoc(c: &mut Criterion) {
    let mut g = c.benchmark_group("userdoc_1000");
    let base = userdoc_1000();
    let now = NTP64(1 << 40);
    let rules = Rules::default();
    g.bench_function("apply_add_then_remove_pair", |b| {
        let mut doc = base.clone();
        b.iter(|| {
            let seq = doc.next_seq("phone");
            let add = Op::WatchlistAdd {
                content: cid(999_999),
                added_at_ms: 1,
                observed: vec![],
            };
            let r = doc.apply("phone", seq, add, now, &rules).unwrap();
            let rm = Op::WatchlistRemove {
                content: cid(999_999),
                observed: vec![Dot::new("phone", seq)],
            };
            black_box(doc.apply("phone", seq + 1, rm, now, &rules).unwrap());
            r
        })
    });
    g.bench_function("apply_playback", |b| {
        let mut doc = base.clone();
        let mut t = 0u64;
        b.iter(|| {
            t += 1;
            let op = Op::Playback {
                content: cid(t % N + 1),
                position_ms: t,
                duration_ms: 5_400_000,
                state: PlayState::Paused,
                ts: Hlc::for_device("tv-1", NTP64(t)),
                lease: None,
                take_lease: false,
            };
            let seq = doc.next_seq("tv-1");
            black_box(doc.apply("tv-1", seq, op, now, &rules).unwrap())
        })
    });
    g.finish();
}

fn sample_deltas() -> Vec<(&'static str, LoggedOp)> {
    let mut doc = UserDoc::new();
    let now = NTP64(1_732_560_000u64 << 32);
    let ops = [
        (
            "watchlist_add",
            Op::WatchlistAdd {
                content: cid(123_456),
                added_at_ms: 1_732_560_000_000,
                observed: vec![],
            },
        ),
        (
            "watchlist_remove",
            Op::WatchlistRemove {
                content: cid(123_456),
                observed: vec![Dot::new("tv-1", 1)],
            },
        ),
        (
            "playback",
            Op::Playback {
                content: cid(123_456),
                position_ms: 1_234_567,
                duration_ms: 5_400_000,
                state: PlayState::Paused,
                ts: Hlc::for_device("tv-1", now),
                lease: None,
                take_lease: false,
            },
        ),
    ];
    ops.into_iter()
        .map(|(name, op)| {
            let seq = doc.next_seq("tv-1");
            match doc.apply("tv-1", seq, op, now, &Rules::default()).unwrap() {
                Outcome::Applied(l, _) => (name, l),
                Outcome::Duplicate { .. } => unreachable!(),
            }
        })
        .collect()
}

fn codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("delta_json");
    for (name, l) in sample_deltas() {
        let op_bytes = serde_json::to_vec(&l.op).unwrap();
        let logged_bytes = serde_json::to_vec(&l).unwrap();
        eprintln!(
            "SIZE {name}: op {} bytes {} | logged op {} bytes",
            op_bytes.len(),
            String::from_utf8_lossy(&op_bytes),
            logged_bytes.len()
        );
        g.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| serde_json::to_vec(black_box(&l)).unwrap())
        });
        g.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| serde_json::from_slice::<LoggedOp>(black_box(&logged_bytes)).unwrap())
        });
    }
    g.finish();
}

/// The same stream in Automerge: a map "watchlist" (content -> added_at) and
/// a map "positions" (content -> position), one change per op.
fn automerge_doc() -> (
    AutoCommit,
    baton_crdt::automerge::ObjId,
    baton_crdt::automerge::ObjId,
) {
    let mut doc = AutoCommit::new().with_actor(baton_crdt::automerge::ActorId::from(b"tv-1"));
    let wl = doc.put_object(ROOT, "watchlist", ObjType::Map).unwrap();
    let pos = doc.put_object(ROOT, "positions", ObjType::Map).unwrap();
    for i in 1..=N {
        doc.put(&wl, format!("movie:{i}"), i).unwrap();
        doc.commit();
    }
    (doc, wl, pos)
}

fn automerge(c: &mut Criterion) {
    let mut g = c.benchmark_group("automerge_1000");
    let (base, wl, pos) = automerge_doc();
    {
        let mut d = base.clone();
        d.put(&wl, "movie:123456", 1_732_560_000_000u64).unwrap();
        d.commit();
        let add = d.get_last_local_change().unwrap().raw_bytes().len();
        d.put(&pos, "movie:123456", 1_234_567u64).unwrap();
        d.commit();
        let set = d.get_last_local_change().unwrap().raw_bytes().len();
        d.delete(&wl, "movie:123456").unwrap();
        d.commit();
        let del = d.get_last_local_change().unwrap().raw_bytes().len();
        eprintln!("SIZE automerge change: add {add} bytes, remove {del} bytes, position {set} bytes; doc {} bytes", d.save().len());
        assert!(d.get(&wl, "movie:1").unwrap().is_some());
    }
    g.bench_function("add", |b| {
        b.iter_custom(|iters| {
            let mut d = base.clone();
            let (wl2, _) = (wl.clone(), ());
            timed(
                &mut d,
                iters,
                |d, k| {
                    d.put(&wl2, "movie:999999", k).unwrap();
                    black_box(d.commit());
                },
                |d, _| {
                    d.delete(&wl2, "movie:999999").unwrap();
                    d.commit();
                },
            )
        })
    });
    g.bench_function("remove", |b| {
        b.iter_custom(|iters| {
            let mut d = base.clone();
            let wl2 = wl.clone();
            timed(
                &mut d,
                iters,
                |d, _| {
                    d.delete(&wl2, "movie:500").unwrap();
                    black_box(d.commit());
                },
                |d, k| {
                    d.put(&wl2, "movie:500", k).unwrap();
                    d.commit();
                },
            )
        })
    });
    g.bench_function("merge_change", |b| {
        b.iter_custom(|iters| {
            let mut src = base.clone();
            let mut dst = base
                .clone()
                .with_actor(baton_crdt::automerge::ActorId::from(b"server"));
            let wl2 = wl.clone();
            let mut total = Duration::ZERO;
            for k in 0..iters {
                src.put(&wl2, "movie:999999", k).unwrap();
                src.commit();
                let ch = src.get_last_local_change().unwrap();
                let t = Instant::now();
                dst.apply_changes([black_box(ch)]).unwrap();
                total += t.elapsed();
                src.delete(&wl2, "movie:999999").unwrap();
                src.commit();
                dst.apply_changes([src.get_last_local_change().unwrap()])
                    .unwrap();
            }
            total
        })
    });
    g.bench_function("set_position", |b| {
        let mut d = base.clone();
        let mut t = 0u64;
        b.iter(|| {
            t += 1;
            d.put(&pos, format!("movie:{}", t % N + 1), t).unwrap();
            black_box(d.commit())
        })
    });
    g.finish();
}

criterion_group!(benches, orset, lww, userdoc, codec, automerge);
criterion_main!(benches);
