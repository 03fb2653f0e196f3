//! Fuzz target `user_ops`: see `baton_fuzz_checks::user_ops` for the input layout and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton_fuzz_checks::user_ops::check(data));
