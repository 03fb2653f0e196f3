//! The outbox's seq rules (PROTOCOL.md section 3), edge by edge.

use baton_client::{Outbox, Refusal};
use baton_crdt::{ContentId, Dot, Op};

fn add(c: &str) -> Op {
    Op::WatchlistAdd {
        content: ContentId::parse(c).expect("id"),
        added_at_ms: 1,
        observed: Vec::new(),
    }
}

fn remove(c: &str, dots: &[u64]) -> Op {
    Op::WatchlistRemove {
        content: ContentId::parse(c).expect("id"),
        observed: dots.iter().map(|s| Dot::new("me", *s)).collect(),
    }
}

fn sent(o: &mut Outbox) -> Vec<u64> {
    o.to_send().into_iter().map(|(s, _)| s).collect()
}

#[test]
fn seqs_continue_from_the_replica_and_the_window_is_respected() {
    let mut o = Outbox::default();
    o.set_max_inflight(2);
    assert_eq!(o.push(5, add("a:1")), 5);
    assert_eq!(o.push(5, add("a:2")), 6);
    assert_eq!(o.push(5, add("a:3")), 7);
    assert_eq!(sent(&mut o), vec![5, 6]);
    assert!(sent(&mut o).is_empty(), "window full");
    assert!(o.acked(5).is_some());
    assert_eq!(sent(&mut o), vec![7]);
    assert!(o.acked(5).is_none(), "a second ack for 5 is ignored");
}

#[test]
fn a_refusal_dooms_later_ops_then_renumbers_them() {
    let mut o = Outbox::default();
    for c in ["a:1", "a:2", "a:3"] {
        o.push(1, add(c));
    }
    assert_eq!(sent(&mut o), vec![1, 2, 3]);
    assert!(matches!(
        o.refused("me", 1, false, false),
        Refusal::Dropped(_)
    ));
    assert!(
        sent(&mut o).is_empty(),
        "nothing is sent while 2 and 3 await seq_gap"
    );
    assert_eq!(o.refused("me", 2, false, true), Refusal::Gap);
    assert!(sent(&mut o).is_empty());
    assert_eq!(o.refused("me", 3, false, true), Refusal::Gap);
    assert_eq!(o.seqs(), vec![1, 2]);
    assert_eq!(sent(&mut o), vec![1, 2]);
}

#[test]
fn a_retryable_refusal_keeps_the_op_and_pauses() {
    let mut o = Outbox::default();
    o.push(1, add("a:1"));
    o.push(1, add("a:2"));
    assert_eq!(sent(&mut o), vec![1, 2]);
    assert_eq!(o.refused("me", 1, true, false), Refusal::Kept);
    assert_eq!(o.refused("me", 2, false, true), Refusal::Gap);
    assert!(sent(&mut o).is_empty(), "paused until resume");
    o.resume();
    assert_eq!(sent(&mut o), vec![1, 2]);
}

#[test]
fn renumbering_rewrites_own_dots_and_drops_dots_of_dropped_ops() {
    let mut o = Outbox::default();
    o.push(1, add("x:0"));
    o.push(1, add("x:1"));
    o.push(1, remove("x:1", &[2]));
    o.push(1, remove("x:0", &[1]));
    assert_eq!(sent(&mut o), vec![1, 2, 3, 4]);
    assert!(matches!(
        o.refused("me", 1, false, false),
        Refusal::Dropped(_)
    ));
    for s in [2, 3, 4] {
        assert_eq!(o.refused("me", s, false, true), Refusal::Gap);
    }
    let ops = o.ops();
    assert_eq!(ops.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(
        ops[&2],
        remove("x:1", &[1]),
        "dot me/2 follows its op to seq 1"
    );
    assert_eq!(ops[&3], remove("x:0", &[]), "the dropped op's dot is gone");
}

#[test]
fn an_unexpected_gap_asks_for_a_new_session() {
    let mut o = Outbox::default();
    o.push(3, add("a:1"));
    assert_eq!(sent(&mut o), vec![3]);
    assert_eq!(o.refused("me", 3, false, true), Refusal::Resync);
    assert_eq!(o.refused("me", 9, false, false), Refusal::Unknown);
}

#[test]
fn synced_drops_what_the_server_has_and_renumbers_from_next_seq() {
    let mut o = Outbox::default();
    for c in ["a:1", "a:2", "a:3"] {
        o.push(1, add(c));
    }
    o.session_start();
    o.synced("me", 3);
    assert_eq!(o.seqs(), vec![3]);
    assert_eq!(o.ops()[&3], add("a:3"));
    let mut p = Outbox::default();
    p.push(1, add("b:1"));
    p.session_start();
    p.synced("me", 4);
    assert_eq!(
        p.seqs(),
        Vec::<u64>::new(),
        "seq 1 is below next_seq 4: already applied"
    );
}
