//! The custody log checked from outside: a Python script written from RFC 9162
//! (tests/python/check_bureau_log.py) recomputes the root from the logged records
//! and verifies every proof and the checkpoint signature against a live bureau.

mod support;

use fieldproof_core::evidence::record::Event;
use std::process::Command;
use support::{record_op, TestBureau, ADMIN_TOKEN};

#[test]
fn an_independent_rfc9162_check_agrees_with_the_bureau() {
    let bureau = TestBureau::start();
    let mut a = bureau.device("430121101");
    let mut b = bureau.device("430121102");
    // 13 records (not a power of two) from two devices, in several pushes.
    for round in 0..3 {
        let ops: Vec<_> = (0..3)
            .map(|_| record_op(&a.next_record(Event::AppStart)))
            .collect();
        a.push(ops);
        if round < 2 {
            let ops: Vec<_> = (0..2)
                .map(|_| record_op(&b.next_record(Event::Note("n".into()))))
                .collect();
            b.push(ops);
        }
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/python/check_bureau_log.py"
    );
    let output = Command::new("python3")
        .args([script, &bureau.url, ADMIN_TOKEN])
        .output()
        .expect("python3 runs (scripts/install-test-deps installs what it needs)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "check_bureau_log.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout
            .contains("checked 13 records, 13 inclusion proofs, 12 consistency proofs: 0 failures"),
        "{stdout}"
    );
}
