//! libFuzzer entry point for [`examiner_fuzz::text_export`].
#![no_main]
#![allow(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| examiner_fuzz::text_export(data));
