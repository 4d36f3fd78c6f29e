#![no_main]
//! See `charter_fuzz_harness::contract_read`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| charter_fuzz_harness::contract_read(data));
