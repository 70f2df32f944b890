//! Damaged PDFs never reach a panic in this crate's own code. `read_pdf` turns any panic into
//! `PdfError::Damaged`, which would hide a bug of ours behind a plausible error; a panic hook
//! records every panic raised in `gongkai-pdf/src` while the real corpus PDFs (when present)
//! and a written one are read with stretches of noise written over them, cut short, and with
//! their bytes flipped. The test has its own binary because the hook is process-wide.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// A two-page PDF with a table, written by hand (uncompressed, so that mutations hit content).
fn written_pdf() -> Vec<u8> {
    let content = "0.5 w 60 700 m 300 700 l S 60 680 m 300 680 l S 60 660 m 300 660 l S \
                   60 700 m 60 660 l S 180 700 m 180 660 l S 300 700 m 300 660 l S \
                   BT /F1 10 Tf 65 685 Td (Rules) Tj 120 0 Td (11) Tj ET \
                   BT /F1 10 Tf 65 665 Td (Fees) Tj 120 0 Td (96171.6) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 6 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Rotate 90 \
         /Resources << /Font << /F1 6 0 R >> >> >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    ];
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    pdf
}

#[test]
fn no_panic_of_ours_on_damaged_pdfs() {
    std::panic::set_hook(Box::new(|info| {
        if let Some(location) = info.location()
            && location.file().contains("gongkai-pdf/src")
        {
            OURS.lock().unwrap().push(format!("{info}"));
        }
    }));
    let written = written_pdf();
    let doc = gongkai_pdf::read_pdf(&written).unwrap();
    assert_eq!(doc.blocks.len(), 2, "{:#?}", doc.blocks);
    let mut samples = vec![written];
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    for name in ["淮安市人民政府_2024.pdf", "淮安市洪泽区人民政府_2023.pdf"] {
        match std::fs::read(corpus.join(name)) {
            Ok(bytes) => samples.push(bytes),
            Err(_) => eprintln!("{name} not present: only the written PDF is mutated"),
        }
    }
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    for (s, sample) in samples.iter().enumerate() {
        // The written PDF is small and cheap to read; the real ones cost more in a debug build.
        let rounds = if s == 0 { 300 } else { 20 };
        for seed in 0..rounds {
            let seed = seed + 1000 * s as u64;
            let mut damaged = sample.clone();
            let len = 1 + usize::try_from(seed % 64).unwrap();
            let at = usize::try_from(seed.wrapping_mul(7919)).unwrap() % (sample.len() - len);
            damaged[at..at + len].copy_from_slice(&noise(seed, len));
            let one = Instant::now();
            let _ = gongkai_pdf::read_pdf(&damaged);
            slowest = slowest.max(one.elapsed());
            let mut flipped = sample.clone();
            for (i, b) in noise(seed, 16).iter().enumerate() {
                let at = (usize::from(*b) * 131 + i * 977 + usize::try_from(seed).unwrap() * 13)
                    % flipped.len();
                flipped[at] ^= 1 << (b % 8);
            }
            let _ = gongkai_pdf::read_pdf(&flipped);
        }
    }
    let _ = std::panic::take_hook();
    eprintln!(
        "{:?} in all, slowest damaged read {slowest:?}",
        start.elapsed()
    );
    assert!(
        slowest < Duration::from_secs(5),
        "a damaged PDF took {slowest:?}"
    );
    let ours = OURS.lock().unwrap();
    assert!(
        ours.is_empty(),
        "{} panic(s) in our code:\n{}",
        ours.len(),
        ours.join("\n")
    );
}
