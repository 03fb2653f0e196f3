//! Fuzz target `envelope`: see `baton_fuzz_checks::envelope` for the input layout and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton_fuzz_checks::envelope::check(data));
