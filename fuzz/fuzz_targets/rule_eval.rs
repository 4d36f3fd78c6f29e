#![no_main]
//! See `charter_fuzz_harness::rule_eval`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| charter_fuzz_harness::rule_eval(data));
