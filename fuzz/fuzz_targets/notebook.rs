//! libFuzzer entry point for [`examiner_fuzz::notebook`].
#![no_main]
#![allow(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| examiner_fuzz::notebook(data));
