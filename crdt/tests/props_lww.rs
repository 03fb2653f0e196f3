//! LwwMap properties: lattice laws, deltas vs full states, convergence.

#![allow(clippy::unwrap_used)]

mod common;

use baton_crdt::uhlc::{Timestamp, ID, NTP64};
use baton_crdt::LwwMap;
use proptest::prelude::*;
use std::collections::BTreeMap;

type M = LwwMap<u8, u8>;

#[derive(Debug, Clone, Copy)]
struct W {
    key: u8,
    value: u8,
    time: u64,
    id: u8,
}

fn ts(time: u64, id: u8) -> Timestamp {
    let id = ID::try_from(u128::from(id) + 1).expect("non-zero");
    Timestamp::new(NTP64(time), id)
}

fn write() -> impl Strategy<Value = W> {
    (0..4u8, 0..4u8, 0..6u64, 0..4u8).prop_map(|(key, value, time, id)| W {
        key,
        value,
        time,
        id,
    })
}

fn map() -> impl Strategy<Value = M> {
    prop::collection::vec(write(), 0..8).prop_map(|ws| {
        let mut m = M::new();
        for w in ws {
            m.set(w.key, w.value, ts(w.time, w.id));
        }
        m
    })
}

fn join(a: &M, b: &M) -> M {
    let mut x = a.clone();
    x.join(b);
    x
}

proptest! {
    #![proptest_config(common::config("proptest-regressions/props_lww.txt"))]

    #[test]
    fn join_is_commutative(a in map(), b in map()) {
        prop_assert_eq!(join(&a, &b), join(&b, &a));
    }

    #[test]
    fn join_is_associative(a in map(), b in map(), c in map()) {
        prop_assert_eq!(join(&join(&a, &b), &c), join(&a, &join(&b, &c)));
    }

    #[test]
    fn join_is_idempotent(a in map(), b in map()) {
        prop_assert_eq!(join(&a, &a), a.clone());
        let ab = join(&a, &b);
        prop_assert_eq!(join(&ab, &b), ab);
    }

    #[test]
    fn deltas_equal_full_state(base in map(), ws in prop::collection::vec(write(), 0..10)) {
        let mut src = M::new();
        let mut via = base.clone();
        let mut deltas = vec![];
        for w in &ws {
            deltas.push(src.set(w.key, w.value, ts(w.time, w.id)).0);
        }
        for d in deltas.iter().rev() { via.join(d); }
        prop_assert_eq!(via, join(&base, &src));
    }

    #[test]
    fn replicas_converge_to_reference(
        n in 2..=10usize,
        ws in prop::collection::vec((0..10usize, write()), 0..30),
        deliveries in prop::collection::vec((any::<usize>(), 0..10usize), 0..30),
    ) {
        let mut reps = vec![M::new(); n];
        let mut msgs = vec![];
        let mut reference: BTreeMap<u8, (Timestamp, u8)> = BTreeMap::new();
        let mut dl = deliveries.iter();
        for (r, w) in &ws {
            // Each replica writes with its own HLC id, so timestamps of
            // different replicas never tie.
            let w = W { id: (*r % n) as u8, ..*w };
            let t = ts(w.time, w.id);
            msgs.push(reps[*r % n].set(w.key, w.value, t).0);
            let e = reference.entry(w.key).or_insert((t, w.value));
            if (t, w.value) > *e { *e = (t, w.value); }
            if let Some((m, to)) = dl.next() {
                let d = msgs[m % msgs.len()].clone();
                reps[to % n].join(&d);
            }
        }
        for rep in reps.iter_mut() {
            for d in msgs.iter().rev().chain(msgs.iter()) { rep.join(d); }
        }
        for rep in &reps {
            prop_assert_eq!(rep, &reps[0]);
            let got: BTreeMap<u8, (Timestamp, u8)> =
                rep.iter().map(|(k, r)| (*k, (r.ts, r.value))).collect();
            prop_assert_eq!(&got, &reference);
        }
    }
}
