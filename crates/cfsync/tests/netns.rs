//! Sync between two routers in two network namespaces the test creates
//! (`cfsync-PID-r1`, `cfsync-PID-r2`, a veth pair between them with
//! 192.0.2.1/24 and 192.0.2.2/24, removed by a Drop guard also when the
//! test fails). Nothing leaves the namespaces.
//!
//! Needs root, so it is ignored unless the `netns-tests` feature is on:
//! `cargo test -p cfsync --features netns-tests` (tests/netns/run.sh).
//! Each router is a thread that `setns`es into its namespace and runs its
//! own tokio runtime there, so its sockets belong to that namespace.

mod common;
use common::FileStore;

use std::fs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cfsync::{BaseFile, Digest, Identity, PeerConfig, Refusal, Reply, ServeOptions, Server};
use testrig::netns::Netns;

const R1: &str = "192.0.2.1";
const R2: &str = "192.0.2.2";

/// A namespace `cfsync-PID-TAG` with its loopback up.
fn router(tag: &str) -> Netns {
    let ns = Netns::new("cfsync", tag);
    ns.ip(&["link", "set", "lo", "up"]);
    ns
}

/// r1 and r2 joined by a veth pair.
fn routers() -> (Netns, Netns) {
    let r1 = router("r1");
    let r2 = router("r2");
    r1.veth("s1", &r2, "s2");
    r1.ip(&["addr", "add", &format!("{R1}/24"), "dev", "s1"]);
    r2.ip(&["addr", "add", &format!("{R2}/24"), "dev", "s2"]);
    (r1, r2)
}

fn lvs_cf(serial: i64) -> Vec<u8> {
    format!(
        "serial_no = {serial}\nprimary = {R1}\nbackup = {R2}\nservice = lvs\n\
         virtual web {{\n     active = 1\n     address = 203.0.113.10 s1:1\n\
         server a {{\n         address = 198.51.100.11\n         active = 1\n     }}\n}}\n"
    )
    .into_bytes()
}

/// Runs `f` on a current-thread runtime in a thread inside `ns`.
fn in_ns<T: Send>(ns: &Netns, f: impl AsyncFnOnce() -> T + Send) -> T {
    ns.run(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn push_between_two_namespaces() {
    let (r1, r2) = routers();
    let state1 = tempfile::tempdir().unwrap();
    let state2 = tempfile::tempdir().unwrap();
    let etc2 = tempfile::tempdir().unwrap();
    let backup_file = etc2.path().join("lvs.cf");

    // Pairing: each router makes its identity in its state directory and
    // is given the other's fingerprint.
    let id1 = Identity::load_or_generate(state1.path()).unwrap();
    let id2 = Identity::load_or_generate(state2.path()).unwrap();
    let (fp1, fp2) = (id1.fingerprint(), id2.fingerprint());

    let addr: SocketAddr = format!("{R2}:{}", cfsync::DEFAULT_PORT).parse().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let store = Arc::new(FileStore::new(
        &backup_file,
        state2.path().join("last-sync"),
    ));

    std::thread::scope(|s| {
        // r2: the backup's helper.
        let server = s.spawn(|| {
            in_ns(&r2, async move || {
                let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
                let server =
                    Arc::new(Server::new(&id2, fp1, store, ServeOptions::default()).unwrap());
                ready_tx.send(()).unwrap();
                tokio::select! {
                    () = server.run(listener) => {}
                    _ = stop_rx => {}
                }
            })
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("backup listening");

        // r1: the primary's helper.
        in_ns(&r1, async || {
            let peer = PeerConfig::new(addr, fp2);
            let base = BaseFile::in_dir(state1.path());

            // After an apply: equal digests within 5 s.
            let start = Instant::now();
            let reply = cfsync::sync(&id1, &peer, "r1", lvs_cf(1), false, &base)
                .await
                .unwrap();
            assert!(matches!(reply, Reply::Accepted(_)), "{reply:?}");
            let want = Digest::of(&lvs_cf(1));
            loop {
                let on_disk = fs::read(&backup_file).ok().map(|b| Digest::of(&b));
                if on_disk == Some(want) {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "no equal digest in 5 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            eprintln!("digest equal after {:?}", start.elapsed());
            let status = cfsync::query_status(&id1, &peer).await.unwrap();
            assert_eq!(status.digest, Some(want));

            // A hand edit on the backup is not overwritten without force.
            let mut edited = lvs_cf(1);
            edited.extend_from_slice(b"# edited on r2\n");
            fs::write(&backup_file, &edited).unwrap();
            let reply = cfsync::sync(&id1, &peer, "r1", lvs_cf(2), false, &base)
                .await
                .unwrap();
            assert!(
                matches!(reply, Reply::Refused(Refusal::Conflict { .. })),
                "{reply:?}"
            );
            assert_eq!(fs::read(&backup_file).unwrap(), edited);

            // A push from a router that is not the paired one is refused
            // at the handshake.
            let stranger = Identity::generate().unwrap();
            let err = cfsync::push_file(&stranger, &peer, "r1", lvs_cf(3), None, true)
                .await
                .unwrap_err();
            assert!(
                matches!(err.step, cfsync::Step::Handshake | cfsync::Step::Receive),
                "{err}"
            );
            assert_eq!(fs::read(&backup_file).unwrap(), edited);

            // Forced, it replaces the hand edit.
            let reply = cfsync::sync(&id1, &peer, "r1", lvs_cf(2), true, &base)
                .await
                .unwrap();
            assert!(matches!(reply, Reply::Accepted(_)), "{reply:?}");
            assert_eq!(fs::read(&backup_file).unwrap(), lvs_cf(2));
        });
        let _ = stop_tx.send(());
        server.join().expect("backup thread");
    });
}
