//! Two real `lvs-admin serve` paired with each other's fingerprints, on
//! loopback and (root, `netns-tests`: tests/netns/run.sh) in two network
//! namespaces: an apply on one reaches the other, a hand edit on the other
//! is a conflict unless forced, and a helper the other is not paired with
//! is refused.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
#[cfg(feature = "netns-tests")]
use std::time::Instant;

use admin::client::{Client, ClientError};
use admin::proto::{Digest, PeerFile, SyncOutcome};
use testrig::admin::{Helper, HelperBuilder, SyncPeer};
#[cfg(feature = "netns-tests")]
use testrig::netns::Netns;
use testrig::process::{free_port, wait_with};

const OLD: &str = "\
serial_no = 1
primary = 192.0.2.1
backup = 192.0.2.2
service = lvs
network = direct
virtual web {
    active = 1
    address = 203.0.113.10 eth0:1
    port = 80
    server web1 {
        address = 192.0.2.11
        active = 1
        weight = 1
    }
}
";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lvs-admin")
}

/// This router's fingerprint, from `lvs-admin fingerprint` (which makes
/// the identity on first use).
fn fingerprint(state: &Path) -> String {
    let out = Command::new(bin())
        .arg("fingerprint")
        .arg("--state-dir")
        .arg(state)
        .output()
        .expect("lvs-admin fingerprint");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 95 && l.matches(':').count() == 31)
        .unwrap_or_else(|| panic!("no fingerprint in {text}"));
    assert!(text.contains("openssl x509"), "{text}");
    line.to_owned()
}

/// One router's helper, with its sync port and fingerprint.
struct Router {
    helper: Helper,
    port: u16,
    fingerprint: String,
}

/// A router's directory with its lvs.cf and identity, not started.
struct Prepared {
    setup: HelperBuilder,
    port: u16,
    fingerprint: String,
}

impl Router {
    fn prepare() -> Prepared {
        let setup = Helper::builder(bin()).config(OLD);
        let fingerprint = fingerprint(&setup.state_dir());
        Prepared {
            setup,
            port: free_port(),
            fingerprint,
        }
    }

    fn start(prepared: Prepared, name: &str, peer_port: u16, peer_fingerprint: &str) -> Router {
        let listen = format!("127.0.0.1:{}", prepared.port);
        let peer = format!("127.0.0.1:{peer_port}");
        Router::start_in(prepared, None, name, &listen, &peer, peer_fingerprint)
    }

    /// `lvs-admin serve` in network namespace `netns` (`ip netns exec`)
    /// or here, taking pushes on `listen`, pushing to `peer`.
    fn start_in(
        prepared: Prepared,
        netns: Option<&str>,
        name: &str,
        listen: &str,
        peer: &str,
        peer_fingerprint: &str,
    ) -> Router {
        let mut setup = prepared.setup.sync(SyncPeer {
            listen: listen.to_owned(),
            peer: peer.to_owned(),
            peer_fingerprint: peer_fingerprint.to_owned(),
            name: name.to_owned(),
        });
        if let Some(ns) = netns {
            setup = setup.through(&["ip", "netns", "exec", ns]);
        }
        Router {
            helper: setup.start(),
            port: prepared.port,
            fingerprint: prepared.fingerprint,
        }
    }

    fn log(&self) -> String {
        self.helper.log()
    }

    fn config(&self) -> PathBuf {
        self.helper.config()
    }

    fn client(&self) -> Client {
        Client::new(self.helper.socket()).with_deadline(Duration::from_secs(30))
    }

    fn digest(&self) -> Digest {
        self.client().read().expect("read").1
    }
}

/// Waits (5 s at most) until `b` holds the file `a` holds.
fn converges(a: &Router, b: &Router) {
    let want = a.digest();
    wait_with(
        &format!("the other router to take {want}"),
        Duration::from_secs(5),
        || b.digest() == want,
        || b.log(),
    );
}

#[test]
fn two_paired_helpers_sync_and_a_stranger_is_refused() {
    let (pa, pb) = (Router::prepare(), Router::prepare());
    let (fa, fb) = (pa.fingerprint.clone(), pb.fingerprint.clone());
    let port_b = pb.port;
    let a = Router::start(pa, "r1", port_b, &fb);
    let b = Router::start(pb, "r2", a.port, &fa);

    // Pairing's first push: both routers hold the same file (copied by
    // hand before), so it is taken without force, and is the base.
    let first = a.client().sync_push(false, "alice").expect("first push");
    assert!(first.contains("already held"), "{first}");

    // An apply on r1 reaches r2, and says so.
    let new = OLD
        .replace("weight = 1", "weight = 3")
        .replace("serial_no = 1", "serial_no = 2");
    let applied = a
        .client()
        .apply(a.digest(), new.as_bytes(), "weight", "alice")
        .expect("apply");
    assert_eq!(applied.raised_serial_no, None);
    match &applied.sync {
        Some(SyncOutcome::Accepted { peer_digest, .. }) => {
            assert_eq!(*peer_digest, Digest::of(new.as_bytes()))
        }
        other => panic!("{other:?}: {}", a.log()),
    }
    converges(&a, &b);
    assert_eq!(fs::read_to_string(b.config()).expect("read"), new);
    let history = b.client().history().expect("history");
    assert_eq!(history[0].user, "sync from r1", "{history:?}");

    // Both digests side by side, from either router.
    let state = a.client().sync_state().expect("sync-status");
    assert!(state.in_sync(), "{state:?}");
    assert_eq!(state.local_digest, Digest::of(new.as_bytes()));
    assert_eq!(state.local_serial_no, Some(2));
    assert_eq!(state.fingerprint, fa);
    assert_eq!(state.peer_fingerprint, fb);
    match &state.remote {
        PeerFile::Known {
            digest,
            serial_no,
            last_write: Some(w),
        } => {
            assert_eq!(*digest, Some(Digest::of(new.as_bytes())));
            assert_eq!(*serial_no, Some(2));
            assert_eq!(w.by, "r1");
        }
        other => panic!("{other:?}"),
    }

    // A hand edit on r2: r1's next push (after an apply whose serial_no
    // the helper raises) is a conflict, and r2 keeps its file.
    let hand = format!("{new}# edited on r2\n");
    fs::write(b.config(), &hand).expect("hand edit");
    let again = new.replace("weight = 3", "weight = 5");
    let applied = a
        .client()
        .apply(a.digest(), again.as_bytes(), "weight", "alice")
        .expect("apply");
    assert_eq!(applied.raised_serial_no, Some(3));
    match &applied.sync {
        Some(SyncOutcome::Refused { conflict: true, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read_to_string(b.config()).expect("read"), hand);
    match a.client().sync_push(false, "alice") {
        Err(ClientError::Sync(SyncOutcome::Refused { conflict, .. })) => assert!(conflict),
        other => panic!("{other:?}"),
    }
    let state = a.client().sync_state().expect("sync-status");
    assert!(!state.in_sync());
    // Forced: replaced, and the hand edit kept in r2's history.
    a.client().sync_push(true, "alice").expect("forced push");
    converges(&a, &b);
    let on_b = fs::read_to_string(b.config()).expect("read");
    assert!(
        on_b.contains("serial_no = 3") && on_b.contains("weight = 5"),
        "{on_b}"
    );
    let history = b.client().history().expect("history");
    assert_eq!(history[1].digest, Digest::of(hand.as_bytes()));

    // A helper r2 is not paired with: refused at the handshake, r2's file
    // unchanged.
    let pc = Router::prepare();
    let c = Router::start(pc, "stranger", b.port, &b.fingerprint);
    let before = b.digest();
    match c.client().sync_push(true, "mallory") {
        Err(ClientError::Sync(SyncOutcome::Failed { message })) => {
            assert!(message.contains(&b.port.to_string()), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.digest(), before);
    assert!(
        b.log().contains("TLS handshake refused"),
        "r2 logs the refusal: {}",
        b.log()
    );
}

/// A named network namespace with its loopback up, deleted on drop.
#[cfg(feature = "netns-tests")]
fn netns(tag: &str) -> Netns {
    let ns = Netns::new("lvs-admin", tag);
    ns.ip(&["link", "set", "lo", "up"]);
    ns
}

/// Root on the host (tests/netns/run.sh): the two helpers in two network
/// namespaces joined by a veth pair, on the default sync port.
#[cfg(feature = "netns-tests")]
#[test]
fn two_helpers_in_two_namespaces_sync_and_refuse_a_stranger() {
    assert!(nix::unistd::getuid().is_root(), "needs root (ip netns)");
    let (n1, n2) = (netns("r1"), netns("r2"));
    n1.veth("s1", &n2, "s2");
    n1.ip(&["addr", "add", "198.51.100.1/24", "dev", "s1"]);
    n2.ip(&["addr", "add", "198.51.100.2/24", "dev", "s2"]);
    let (pa, pb) = (Router::prepare(), Router::prepare());
    let (fa, fb) = (pa.fingerprint.clone(), pb.fingerprint.clone());
    // The default port (3637) on both sides: --peer without one.
    let a = Router::start_in(
        pa,
        Some(n1.name()),
        "r1",
        "198.51.100.1:3637",
        "198.51.100.2",
        &fb,
    );
    let b = Router::start_in(
        pb,
        Some(n2.name()),
        "r2",
        "198.51.100.2:3637",
        "198.51.100.1",
        &fa,
    );
    // The first push finds the same file there: taken, and the base.
    let started = Instant::now();
    loop {
        // r2 may not listen yet when r1 is up.
        match a.client().sync_push(false, "alice") {
            Ok(m) => {
                assert!(m.contains("already held"), "{m}");
                break;
            }
            Err(e) => assert!(
                started.elapsed() < Duration::from_secs(10),
                "{e}: {}",
                b.log()
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let new = OLD
        .replace("weight = 1", "weight = 4")
        .replace("serial_no = 1", "serial_no = 2");
    let applied = a
        .client()
        .apply(a.digest(), new.as_bytes(), "weight", "alice")
        .expect("apply");
    assert!(
        matches!(applied.sync, Some(SyncOutcome::Accepted { .. })),
        "{:?}",
        applied.sync
    );
    converges(&a, &b);
    // A hand edit on r2 is not overwritten by the next push.
    let hand = format!("{new}# edited on r2\n");
    fs::write(b.config(), &hand).expect("hand edit");
    match a.client().sync_push(false, "alice") {
        Err(ClientError::Sync(SyncOutcome::Refused { conflict: true, .. })) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read_to_string(b.config()).expect("read"), hand);
    // A helper r2 is not paired with, beside r1: refused, r2 unchanged.
    let pc = Router::prepare();
    let c = Router::start_in(
        pc,
        Some(n1.name()),
        "stranger",
        "198.51.100.1:3638",
        "198.51.100.2",
        &fb,
    );
    match c.client().sync_push(true, "mallory") {
        Err(ClientError::Sync(SyncOutcome::Failed { .. })) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read_to_string(b.config()).expect("read"), hand);
}
