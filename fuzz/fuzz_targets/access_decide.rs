#![no_main]
//! See `charter_fuzz_harness::access_decide`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| charter_fuzz_harness::access_decide(data));
