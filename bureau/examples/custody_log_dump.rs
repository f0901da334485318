//! Builds a custody log from the leaves on stdin and prints it as JSON, for checks
//! by independent implementations (tests/python/test_custody_log.py).
//!
//! Input: one leaf per line, hex-encoded; an empty line is the empty leaf.
//! Output: `{"size", "root", "leaf_hashes", "inclusion": [{"index", "tree_size",
//! "path"}], "consistency": [{"old", "new", "proof"}]}` with every inclusion proof
//! for every tree size 1..=size and every consistency proof for 0 <= old <= new <=
//! size; hashes are lowercase hex.

use fieldproof_bureau::custody_log::{leaf_hash, CustodyLog, Hash};
use serde::Serialize;
use std::error::Error;
use std::io::{self, BufRead, Write};

#[derive(Serialize)]
struct Dump {
    size: u64,
    root: String,
    leaf_hashes: Vec<String>,
    inclusion: Vec<Inclusion>,
    consistency: Vec<Consistency>,
}

#[derive(Serialize)]
struct Inclusion {
    index: u64,
    tree_size: u64,
    path: Vec<String>,
}

#[derive(Serialize)]
struct Consistency {
    old: u64,
    new: u64,
    proof: Vec<String>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut log = CustodyLog::new();
    let mut leaf_hashes = Vec::new();
    for line in io::stdin().lock().lines() {
        let leaf = decode_hex(line?.trim())?;
        leaf_hashes.push(encode_hex(&leaf_hash(&leaf)));
        log.append(&leaf);
    }

    let size = log.len();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for new in 0..=size {
        for index in 0..new {
            let path = encode_hashes(&log.inclusion_proof(index, new)?);
            inclusion.push(Inclusion {
                index,
                tree_size: new,
                path,
            });
        }
        for old in 0..=new {
            let proof = encode_hashes(&log.consistency_proof(old, new)?);
            consistency.push(Consistency { old, new, proof });
        }
    }

    let dump = Dump {
        size,
        root: encode_hex(&log.root()),
        leaf_hashes,
        inclusion,
        consistency,
    };
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &dump)?;
    writeln!(out)?;
    Ok(())
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn encode_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|hash| encode_hex(hash)).collect()
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!(
            "odd number of hex digits in a {}-character line",
            text.len()
        ));
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|digits| u8::from_str_radix(digits, 16).ok())
                .ok_or_else(|| "a line is not hex".to_string())
        })
        .collect()
}
