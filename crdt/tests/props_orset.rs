//! OR-Set properties: lattice laws, deltas vs full states, convergence of
//! replicas under reordering, duplication and loss-then-resend, against a
//! reference model.

#![allow(clippy::unwrap_used)]

mod common;

use baton_crdt::{Dot, EntryMeta, OrSet};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

type S = OrSet<u8>;
const ITEMS: u8 = 4;

#[derive(Debug, Clone)]
enum Ev {
    Add(usize, u8),
    Remove(usize, u8),
    Deliver(usize, usize),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        (0..10usize, 0..ITEMS).prop_map(|(r, i)| Ev::Add(r, i)),
        (0..10usize, 0..ITEMS).prop_map(|(r, i)| Ev::Remove(r, i)),
        (any::<usize>(), 0..10usize).prop_map(|(m, t)| Ev::Deliver(m, t)),
    ]
}

struct Sim {
    reps: Vec<S>,
    ctr: Vec<u64>,
    msgs: Vec<S>,
    adds: Vec<(u8, Dot)>,
    killed: BTreeSet<Dot>,
}

impl Sim {
    fn new(n: usize) -> Self {
        Sim {
            reps: vec![S::new(); n],
            ctr: vec![0; n],
            msgs: vec![],
            adds: vec![],
            killed: BTreeSet::new(),
        }
    }

    fn observed(&self, r: usize, i: u8) -> Vec<Dot> {
        self.reps[r].dots_of(&i).map(|(d, _)| d.clone()).collect()
    }

    fn step(&mut self, e: &Ev) {
        let n = self.reps.len();
        match *e {
            Ev::Add(r, i) => {
                let r = r % n;
                self.ctr[r] += 1;
                let dot = Dot::new(format!("r{r}"), self.ctr[r]);
                let obs = self.observed(r, i);
                self.killed.extend(obs.iter().cloned());
                self.adds.push((i, dot.clone()));
                let meta = EntryMeta {
                    added_at_ms: self.ctr[r],
                };
                let d = self.reps[r].add(i, dot, meta, &obs);
                self.msgs.push(d);
            }
            Ev::Remove(r, i) => {
                let r = r % n;
                let obs = self.observed(r, i);
                self.killed.extend(obs.iter().cloned());
                let d = self.reps[r].remove(&i, &obs);
                self.msgs.push(d);
            }
            Ev::Deliver(m, t) => {
                if !self.msgs.is_empty() {
                    let d = self.msgs[m % self.msgs.len()].clone();
                    self.reps[t % n].join(&d);
                }
            }
        }
    }

    /// Everything lost is resent: each replica gets every delta, in a
    /// replica-specific rotated order, twice.
    fn resend_all(&mut self, rot: usize) {
        let k = self.msgs.len();
        for (r, rep) in self.reps.iter_mut().enumerate() {
            for j in 0..k {
                rep.join(&self.msgs[(j + r * rot) % k]);
            }
            for d in self.msgs.iter().rev() {
                rep.join(d);
            }
        }
    }

    fn expected(&self) -> BTreeMap<u8, BTreeSet<Dot>> {
        let mut m: BTreeMap<u8, BTreeSet<Dot>> = BTreeMap::new();
        for (i, d) in &self.adds {
            if !self.killed.contains(d) {
                m.entry(*i).or_default().insert(d.clone());
            }
        }
        m
    }
}

fn dots(s: &S) -> BTreeMap<u8, BTreeSet<Dot>> {
    let mut m: BTreeMap<u8, BTreeSet<Dot>> = BTreeMap::new();
    for i in 0..ITEMS {
        for (d, _) in s.dots_of(&i) {
            m.entry(i).or_default().insert(d.clone());
        }
    }
    m
}

/// Three reachable states (replicas of one run with partial delivery).
fn three_states() -> impl Strategy<Value = (S, S, S)> {
    prop::collection::vec(ev(), 0..16).prop_map(|evs| {
        let mut sim = Sim::new(3);
        for e in &evs {
            sim.step(e);
        }
        let mut it = sim.reps.into_iter();
        let a = it.next().unwrap_or_default();
        let b = it.next().unwrap_or_default();
        let c = it.next().unwrap_or_default();
        (a, b, c)
    })
}

fn join(a: &S, b: &S) -> S {
    let mut x = a.clone();
    x.join(b);
    x
}

proptest! {
    #![proptest_config(common::config("proptest-regressions/props_orset.txt"))]

    #[test]
    fn join_is_commutative((a, b, _c) in three_states()) {
        prop_assert_eq!(join(&a, &b), join(&b, &a));
    }

    #[test]
    fn join_is_associative((a, b, c) in three_states()) {
        prop_assert_eq!(join(&join(&a, &b), &c), join(&a, &join(&b, &c)));
    }

    #[test]
    fn join_is_idempotent((a, b, _c) in three_states()) {
        prop_assert_eq!(join(&a, &a), a.clone());
        let ab = join(&a, &b);
        prop_assert_eq!(join(&ab, &b), ab);
    }

    #[test]
    fn deltas_equal_full_state(
        evs in prop::collection::vec(ev(), 0..24),
        other in prop::collection::vec(ev(), 0..12),
        rev in any::<bool>(),
    ) {
        // Replica 0 of `sim` produces deltas; `base` is an unrelated state
        // (its replicas are named differently, so dots stay unique).
        let mut sim = Sim::new(1);
        for e in &evs { sim.step(e); }
        let mut bsim = Sim::new(2);
        for e in &other { bsim.step(e); }
        let base = bsim.reps[1].clone();
        let mut via_deltas = base.clone();
        let msgs: Vec<&S> = if rev { sim.msgs.iter().rev().collect() } else { sim.msgs.iter().collect() };
        for d in msgs { via_deltas.join(d); }
        prop_assert_eq!(&via_deltas, &join(&base, &sim.reps[0]));
        prop_assert_eq!(dots(&sim.reps[0]), sim.expected());
    }

    #[test]
    fn replicas_converge_to_reference(
        n in 2..=10usize,
        evs in prop::collection::vec(ev(), 0..28),
        rot in 0..7usize,
    ) {
        let mut sim = Sim::new(n);
        for e in &evs { sim.step(e); }
        sim.resend_all(rot);
        let want = sim.expected();
        for rep in &sim.reps {
            prop_assert_eq!(rep, &sim.reps[0]);
            prop_assert_eq!(dots(rep), want.clone());
            for i in 0..ITEMS {
                prop_assert_eq!(rep.contains(&i), want.contains_key(&i));
            }
            // No tombstones: the context is a plain version vector after
            // everything was delivered.
            prop_assert_eq!(rep.context().cloud().count(), 0);
        }
    }
}
