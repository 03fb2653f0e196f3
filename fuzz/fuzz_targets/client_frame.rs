//! Fuzz target `client_frame`: see `baton_fuzz_checks::client_frame` for the input layout and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton_fuzz_checks::client_frame::check(data));
