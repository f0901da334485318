//! The provincial setup: three bureau processes on one PostgreSQL database and
//! one S3 bucket (SeaweedFS) behind nginx, round robin with no stickiness
//! (`fieldproof_e2e::cluster`). Devices sync through it over a slowed link while
//! a process is killed with SIGKILL in the middle of uploads and started again;
//! then every sync invariant holds for every device (`fieldproof_e2e::invariants`:
//! nothing lost, nothing applied twice, photos byte-identical, the custody log
//! holding exactly the applied records).

use fieldproof_e2e::cluster::BureauCluster;
use fieldproof_e2e::faults::{self, FaultProxy, Upstream};
use fieldproof_e2e::invariants::chunk_requests;
use fieldproof_e2e::{assert_settled, engine_via, sync_until_done, Device, Wire};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOWNSHIP: &str = "430121101";
const PHOTOS: [&str; 3] = [
    "photos/camera/phone_nokia83_gps.jpg",
    "photos/camera/phone_iphone6_gps_hdr.jpg",
    "photos/camera/canon_sx60_orient6.jpg",
];

#[test]
fn devices_sync_through_three_processes_while_one_is_killed_mid_upload() {
    let Some(mut cluster) = BureauCluster::start(env!("CARGO_BIN_EXE_bureau-process").as_ref(), 3)
    else {
        return;
    };
    let devices: Vec<Device> = (0..3)
        .map(|_| {
            let device = Device::new();
            device.enroll_at(&cluster.url, &cluster.enrollment_code("430121"));
            for (i, photo) in PHOTOS.iter().enumerate() {
                let id = device.record_inspection(TOWNSHIP, &format!("稻田 {i}"));
                device.capture(&id, photo);
                device.store.submit(&id).unwrap();
            }
            device
        })
        .collect();
    // A slow link (800 KB/s a connection) keeps chunks on the wire for seconds.
    let nginx = cluster.url.trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(nginx, faults::bandwidth("slow", Upstream, 800));
    let wires: Vec<Arc<Wire>> = devices.iter().map(|_| Wire::new()).collect();

    let kills = std::thread::scope(|s| {
        for (device, wire) in devices.iter().zip(&wires) {
            let url = &proxy.url;
            s.spawn(move || sync_until_done(&engine_via(device, wire.clone(), url), 200));
        }
        // Kill process 1 while a chunk is in flight through it; again (up to
        // five times) until a kill is seen to have cut one.
        let cut = || {
            wires
                .iter()
                .flat_map(|w| w.exchanges())
                .filter(|e| e.tus && e.body_len > 0 && e.status.is_none_or(|s| s == 502))
                .count()
        };
        let mut kills = 0;
        while kills < 5 && cut() == 0 {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !cluster.serving_an_upload(1) {
                assert!(Instant::now() < deadline, "no upload reached process 1");
                std::thread::sleep(Duration::from_millis(20));
            }
            cluster.kill(1);
            kills += 1;
            std::thread::sleep(Duration::from_millis(1_500));
            cluster.start_again(1);
        }
        kills
    });

    let exchanges: Vec<_> = wires.iter().flat_map(|w| w.exchanges()).collect();
    let cut = chunk_requests(&exchanges)
        .filter(|e| e.status.is_none_or(|s| s == 502))
        .count();
    eprintln!(
        "{kills} kill(s) of process 1; {cut} chunk request(s) cut of {}; {} requests in all",
        chunk_requests(&exchanges).count(),
        exchanges.len()
    );
    assert!(cut > 0, "a chunk was cut by killing its process");
    for device in &devices {
        let tally = assert_settled(&device.db_path(), &cluster);
        assert_eq!((tally.photos, tally.pending), (PHOTOS.len(), 0));
    }
}
