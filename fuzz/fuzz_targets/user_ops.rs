//! Fuzz target `user_ops`: see `baton_fuzz_checks::user_ops` for the input layout and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(
    // baton-crdt catches Automerge's panics on hostile bytes and refuses the
    // input (crdt/src/prefs.rs, `guarded`), as the server does. libfuzzer-sys's
    // panic hook would abort even on a caught panic, so the default hook is put
    // back; a panic that escapes the check still aborts the run (libfuzzer-sys
    // aborts when the target unwinds) and is reported as a crash.
    init: drop(std::panic::take_hook()),
    |data: &[u8]| baton_fuzz_checks::user_ops::check(data)
);
