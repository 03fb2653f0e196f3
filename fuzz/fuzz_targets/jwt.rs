//! Fuzz target `jwt`: see `baton_fuzz_checks::jwt` for the input layout and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton_fuzz_checks::jwt::check(data));
