#![no_main]
//! Any bytes through the whole engine (sniffing, every format reader, the report reader, the
//! rules): an error is fine, a panic is a bug.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gongkai_engine::check(data, "fuzz");
});
