//! Fuzz target `prefs_change`: see `baton_fuzz_checks::prefs_change` for the input layout and invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| baton_fuzz_checks::prefs_change::check(data));
