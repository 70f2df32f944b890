//! Damaged DOCX files never reach a panic in this crate's own code (which `read_docx` would
//! turn into `DocxError::Damaged`, hiding the bug): a panic hook records panics raised in
//! `gongkai-docx/src` while a written DOCX, with stored (uncompressed) XML so that mutations
//! hit the markup, and the official template (when present) are read with noise written over
//! them, and with the markup itself damaged inside a sound archive. The test has its own
//! binary because the hook is process-wide.

#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

static OURS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>一、总体情况</w:t></w:r></w:p><w:tbl><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid><w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>项目</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>总计</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:trPr><w:gridBefore w:val="1"/></w:trPr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc><w:tc><w:p><w:r><w:t>3</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>"#;

/// A DOCX around `xml`, stored uncompressed with a correct checksum, so that damaged markup
/// reaches the XML reader.
fn docx_of(xml: &[u8]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file("word/document.xml", options).unwrap();
    zip.write_all(xml).unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn no_panic_of_ours_on_damaged_docx() {
    std::panic::set_hook(Box::new(|info| {
        if let Some(location) = info.location()
            && location.file().contains("gongkai-docx/src")
        {
            OURS.lock().unwrap().push(format!("{info}"));
        }
    }));
    let written = docx_of(XML.as_bytes());
    assert!(gongkai_docx::read_docx(&written).unwrap().has_text);
    // Damaged markup inside a sound archive.
    for seed in 0..2000u64 {
        let mut xml = XML.as_bytes().to_vec();
        let len = 1 + usize::try_from(seed % 8).unwrap();
        let at = usize::try_from(seed.wrapping_mul(7919)).unwrap() % (xml.len() - len);
        xml[at..at + len].copy_from_slice(&noise(seed, len));
        let _ = gongkai_docx::read_docx(&docx_of(&xml));
    }
    // Damaged archives.
    let mut samples = vec![written];
    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/TEMPLATE_2021格式_政务公开年报模版.docx");
    match std::fs::read(&template) {
        Ok(bytes) => samples.push(bytes),
        Err(_) => eprintln!("template not present: only the written DOCX is mutated"),
    }
    for (s, sample) in samples.iter().enumerate() {
        for seed in 0..400u64 {
            let seed = seed + 10_000 * s as u64;
            let mut damaged = sample.clone();
            let len = 1 + usize::try_from(seed % 24).unwrap();
            let at = usize::try_from(seed.wrapping_mul(7919)).unwrap() % (sample.len() - len);
            damaged[at..at + len].copy_from_slice(&noise(seed, len));
            let _ = gongkai_docx::read_docx(&damaged);
        }
    }
    let _ = std::panic::take_hook();
    let ours = OURS.lock().unwrap();
    assert!(
        ours.is_empty(),
        "{} panic(s) in our code:\n{}",
        ours.len(),
        ours.join("\n")
    );
}
