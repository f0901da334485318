//! The bureau's edge against slow and greedy clients, over raw TCP on loopback:
//! headers that never finish, bodies that stall, idle kept-alive connections,
//! and more connections than the cap. Every wait here is bounded.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::TestBureau;

/// Reads until the bureau closes the connection or `within` passes; returns
/// what arrived and how long the bureau kept the connection open.
fn until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while started.elapsed() < within {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break, // reset: closed too
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

fn connect(bureau: &TestBureau) -> TcpStream {
    TcpStream::connect(bureau.addr).unwrap()
}

fn quick_bureau() -> TestBureau {
    TestBureau::start_with(|c| {
        c.limits.header_timeout_s = 1;
        c.limits.body_idle_timeout_s = 1;
    })
}

#[test]
fn headers_that_never_finish_are_cut_off() {
    let bureau = quick_bureau();
    let mut slow = connect(&bureau);
    slow.write_all(b"POST /v1/enroll HTTP/1.1\r\nHost: bureau\r\n")
        .unwrap();
    let (_, open_for) = until_closed(&mut slow, Duration::from_secs(10));
    assert!(open_for < Duration::from_secs(5), "open for {open_for:?}");
    // Nothing sent at all: the same.
    let mut silent = connect(&bureau);
    let (_, open_for) = until_closed(&mut silent, Duration::from_secs(10));
    assert!(open_for < Duration::from_secs(5), "open for {open_for:?}");
}

#[test]
fn a_stalled_body_is_answered_408_and_closed() {
    let bureau = quick_bureau();
    let mut stalled = connect(&bureau);
    stalled
        .write_all(
            b"POST /v1/enroll HTTP/1.1\r\nHost: bureau\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"code\": \"",
        )
        .unwrap();
    let (answer, open_for) = until_closed(&mut stalled, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"body_timeout\""), "{answer}");
    assert!(open_for < Duration::from_secs(5), "open for {open_for:?}");
}

#[test]
fn an_idle_kept_alive_connection_is_closed() {
    let bureau = quick_bureau();
    let mut idle = connect(&bureau);
    idle.write_all(b"GET /v1/bureau HTTP/1.1\r\nHost: bureau\r\n\r\n")
        .unwrap();
    let (answer, open_for) = until_closed(&mut idle, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(open_for < Duration::from_secs(5), "open for {open_for:?}");
}

#[test]
fn connections_past_the_cap_wait_in_the_backlog_and_are_served_in_turn() {
    let bureau = TestBureau::start_with(|c| {
        c.limits.max_connections = 4;
        c.limits.header_timeout_s = 30;
    });
    // Four clients that hold their connections without a request.
    let mut holders: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut held = connect(&bureau);
            held.write_all(b"G").unwrap();
            held
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut waiting = connect(&bureau);
    waiting
        .write_all(b"GET /v1/bureau HTTP/1.1\r\nHost: bureau\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (early, _) = until_closed(&mut waiting, Duration::from_secs(1));
    assert_eq!(early, "", "no answer while every slot is held");
    holders.clear();
    let (answer, _) = until_closed(&mut waiting, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn many_half_open_sockets_do_not_shut_others_out() {
    let bureau = TestBureau::start_with(|c| {
        c.limits.max_connections = 4;
        c.limits.header_timeout_s = 1;
    });
    let _half_open: Vec<TcpStream> = (0..40).map(|_| connect(&bureau)).collect();
    let started = Instant::now();
    let (status, body) = support::request("GET", &format!("{}/v1/bureau", bureau.url), None, None);
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(20));
}
