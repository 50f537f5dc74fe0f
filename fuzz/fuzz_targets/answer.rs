//! libFuzzer entry point for [`examiner_fuzz::answer`].
#![no_main]
#![allow(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| examiner_fuzz::answer(data));
