//! Two sync endpoints on loopback, each with its own generated identity:
//! the backup serves the tests' `FileStore` in a scratch directory, the primary
//! pushes to it.

mod common;
use common::FileStore;

use std::fs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cfsync::wire::{self, Request};
use cfsync::{
    BaseFile, Digest, Identity, PeerConfig, Push, Refusal, Reply, ServeOptions, Server, Step,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, pki_types::ServerName};

fn lvs_cf(serial: i64) -> Vec<u8> {
    format!(
        "serial_no = {serial}\nprimary = 192.0.2.1\nbackup = 192.0.2.2\nservice = lvs\n\
         virtual web {{\n     active = 1\n     address = 203.0.113.10 eth0:1\n\
         server a {{\n         address = 198.51.100.11\n         active = 1\n     }}\n}}\n"
    )
    .into_bytes()
}

/// A backup serving on 127.0.0.1, pinning `primary`'s certificate.
struct Backup {
    identity: Identity,
    addr: SocketAddr,
    path: std::path::PathBuf,
    dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Backup {
    async fn start(primary: &Identity, options: ServeOptions) -> Backup {
        Backup::serve(Identity::generate().unwrap(), primary, options).await
    }

    /// A router with `identity` serving sync for `peer`.
    async fn serve(identity: Identity, peer: &Identity, options: ServeOptions) -> Backup {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lvs.cf");
        let store = Arc::new(FileStore::new(&path, dir.path().join("last-sync")));
        let server = Server::new(&identity, peer.fingerprint(), store, options)
            .unwrap()
            .with_peer_base(BaseFile::in_dir(dir.path()));
        let server = Arc::new(server);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(server.run(listener));
        Backup {
            identity,
            addr,
            path,
            dir,
            task,
        }
    }

    fn peer(&self) -> PeerConfig {
        let mut p = PeerConfig::new(self.addr, self.identity.fingerprint());
        p.timeout = Duration::from_secs(5);
        p
    }

    /// Its base for pushing back (what it knows the primary holds).
    fn peer_base(&self) -> Option<Digest> {
        BaseFile::in_dir(self.dir.path()).load().unwrap()
    }

    fn file(&self) -> Option<Vec<u8>> {
        fs::read(&self.path).ok()
    }
}

impl Drop for Backup {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn opts() -> ServeOptions {
    ServeOptions {
        deadline: Duration::from_secs(5),
        ..ServeOptions::default()
    }
}

async fn push(
    primary: &Identity,
    backup: &Backup,
    file: Vec<u8>,
    base: Option<Digest>,
    force: bool,
) -> Reply {
    cfsync::push_file(primary, &backup.peer(), "r1", file, base, force)
        .await
        .unwrap()
}

fn accepted(reply: &Reply) -> Digest {
    match reply {
        Reply::Accepted(a) => a.digest,
        other => panic!("not accepted: {other:?}"),
    }
}

#[tokio::test]
async fn a_push_is_stored_and_the_digests_are_equal() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(&primary, opts()).await;
    let file = lvs_cf(3);
    let reply = push(&primary, &backup, file.clone(), None, false).await;
    let digest = accepted(&reply);
    assert_eq!(digest, Digest::of(&file));
    assert_eq!(backup.file(), Some(file.clone()));
    assert_eq!(Digest::of(&backup.file().unwrap()), digest);
    assert_eq!(backup.peer_base(), Some(digest));

    let status = cfsync::query_status(&primary, &backup.peer())
        .await
        .unwrap();
    assert_eq!(status.digest, Some(digest));
    assert_eq!(status.serial_no, Some(3));
    let w = status.last_write.expect("a write recorded");
    assert_eq!((w.by.as_str(), w.digest), ("r1", digest));

    // The same bytes again: accepted, nothing written.
    match push(&primary, &backup, file, Some(digest), false).await {
        Reply::Accepted(a) => assert!(!a.written),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_hand_edited_backup_is_kept_unless_forced() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(&primary, opts()).await;
    let state = tempfile::tempdir().unwrap();
    let base = BaseFile::in_dir(state.path());
    let peer = backup.peer();

    let first = cfsync::sync(&primary, &peer, "r1", lvs_cf(1), false, &base)
        .await
        .unwrap();
    assert_eq!(base.load().unwrap(), Some(accepted(&first)));

    // Edited by hand on the backup.
    let mut edited = lvs_cf(1);
    edited.extend_from_slice(b"# edited on the backup\n");
    fs::write(&backup.path, &edited).unwrap();

    let reply = cfsync::sync(&primary, &peer, "r1", lvs_cf(2), false, &base)
        .await
        .unwrap();
    assert_eq!(
        reply,
        Reply::Refused(Refusal::Conflict {
            current: Some(Digest::of(&edited)),
            base: Some(Digest::of(&lvs_cf(1)))
        })
    );
    assert_eq!(backup.file(), Some(edited));
    assert_eq!(
        base.load().unwrap(),
        Some(Digest::of(&lvs_cf(1))),
        "a refusal keeps the base"
    );

    let forced = cfsync::sync(&primary, &peer, "r1", lvs_cf(2), true, &base)
        .await
        .unwrap();
    assert_eq!(accepted(&forced), Digest::of(&lvs_cf(2)));
    assert_eq!(backup.file(), Some(lvs_cf(2)));
    assert_eq!(base.load().unwrap(), Some(Digest::of(&lvs_cf(2))));
}

/// Both routers serve and push: after a takeover the new active router
/// pushes back on the base its server recorded, without force.
#[tokio::test]
async fn after_a_takeover_the_other_router_pushes_back_without_a_conflict() {
    let id1 = Identity::generate().unwrap();
    let id2 = Identity::generate().unwrap();
    let fp1 = id1.fingerprint();
    let r2 = Backup::serve(id2, &id1, opts()).await;
    // r1's own server pins r2; it needs r2's identity, held by r2's struct.
    let r1 = Backup::serve(id1, &r2.identity, opts()).await;
    assert_eq!(r1.identity.fingerprint(), fp1);

    // r1 active: its file, applied, then synced to r2.
    fs::write(&r1.path, lvs_cf(1)).unwrap();
    let base1 = BaseFile::in_dir(r1.dir.path());
    let reply = cfsync::sync(&r1.identity, &r2.peer(), "r1", lvs_cf(1), false, &base1)
        .await
        .unwrap();
    accepted(&reply);

    // r2 takes over and applies a change: its push finds r1 on the base.
    fs::write(&r2.path, lvs_cf(2)).unwrap();
    let base2 = BaseFile::in_dir(r2.dir.path());
    assert_eq!(base2.load().unwrap(), Some(Digest::of(&lvs_cf(1))));
    let reply = cfsync::sync(&r2.identity, &r1.peer(), "r2", lvs_cf(2), false, &base2)
        .await
        .unwrap();
    assert_eq!(accepted(&reply), Digest::of(&lvs_cf(2)));
    assert_eq!(r1.file(), Some(lvs_cf(2)));
}

#[tokio::test]
async fn a_file_that_does_not_parse_is_refused_with_its_diagnostics() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(&primary, opts()).await;
    push(&primary, &backup, lvs_cf(1), None, false).await;
    let mut bad = lvs_cf(2);
    bad.extend_from_slice(b"virtual other {\n     scheduler = wlcc\n}\n");
    let reply = push(
        &primary,
        &backup,
        bad.clone(),
        Some(Digest::of(&lvs_cf(1))),
        true,
    )
    .await;
    let Reply::Refused(refusal @ Refusal::DoesNotParse { .. }) = &reply else {
        panic!("{reply:?}");
    };
    let Refusal::DoesNotParse { errors, omitted } = refusal else {
        unreachable!()
    };
    assert_eq!(*omitted, 0);
    // lvsd --check's errors for the same bytes.
    let text = std::str::from_utf8(&bad).unwrap();
    let want: Vec<_> = lvscf::parse(text)
        .of(lvscf::Severity::Error)
        .map(cfsync::Finding::from_diagnostic)
        .collect();
    assert_eq!(errors, &want);
    let rendered = cfsync::render(refusal, "lvs.cf", &bad);
    assert!(
        rendered.contains("lvs.cf:14:18: error: unknown scheduler \"wlcc\""),
        "{rendered}"
    );
    assert_eq!(backup.file(), Some(lvs_cf(1)));
}

#[tokio::test]
async fn an_older_serial_no_is_refused() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(&primary, opts()).await;
    let d = accepted(&push(&primary, &backup, lvs_cf(7), None, false).await);
    let reply = push(&primary, &backup, lvs_cf(6), Some(d), false).await;
    assert_eq!(
        reply,
        Reply::Refused(Refusal::OlderSerial {
            current: 7,
            pushed: 6
        })
    );
    assert_eq!(backup.file(), Some(lvs_cf(7)));
    assert_eq!(backup.peer_base(), Some(d), "a refusal records nothing");
}

#[tokio::test]
async fn a_client_whose_certificate_is_not_pinned_is_refused_at_the_handshake() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(&primary, opts()).await;
    fs::write(&backup.path, lvs_cf(1)).unwrap();
    let stranger = Identity::generate().unwrap();
    let err = cfsync::push_file(&stranger, &backup.peer(), "r9", lvs_cf(5), None, true)
        .await
        .unwrap_err();
    // TLS 1.3: the client's handshake ends before the server has checked
    // its certificate, so the refusal arrives as the alert on the read.
    assert!(matches!(err.step, Step::Handshake | Step::Receive), "{err}");
    assert!(err.to_string().contains(&backup.addr.to_string()), "{err}");
    assert_eq!(backup.file(), Some(lvs_cf(1)));
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_at_the_handshake() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(&primary, opts()).await;
    fs::write(&backup.path, lvs_cf(1)).unwrap();
    let provider = cfsync::tls::provider();
    let verifier = Arc::new(cfsync::tls::Pinned::new(
        backup.identity.fingerprint(),
        &provider,
    ));
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let frame = wire::encode_request(&Request::Push(Push::new("r9", lvs_cf(5), None, true)));
    let result = raw_exchange(config, backup.addr, &frame).await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(backup.file(), Some(lvs_cf(1)));
}

#[tokio::test]
async fn a_backup_whose_certificate_is_not_pinned_gets_nothing() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(&primary, opts()).await;
    let mut peer = backup.peer();
    peer.fingerprint = Identity::generate().unwrap().fingerprint();
    let err = cfsync::push_file(&primary, &peer, "r1", lvs_cf(1), None, false)
        .await
        .unwrap_err();
    assert_eq!(err.step, Step::Handshake, "{err}");
    assert_eq!(backup.file(), None);
}

/// One request over TLS with `config`; the raw reply bytes until the
/// backup closes.
async fn raw_exchange(
    config: ClientConfig,
    addr: SocketAddr,
    frame: &[u8],
) -> std::io::Result<Vec<u8>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::IpAddress(addr.ip().into());
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    tls.write_all(frame).await?;
    tls.flush().await?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await?;
    Ok(out)
}

fn decode(reply: &[u8]) -> Reply {
    let head: [u8; wire::HEADER_LEN] = reply[..wire::HEADER_LEN].try_into().unwrap();
    let h = wire::parse_header(&head).unwrap();
    wire::decode_reply(h.kind, &reply[wire::HEADER_LEN..]).unwrap()
}

#[tokio::test]
async fn an_oversized_message_is_refused_from_its_header() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(
        &primary,
        ServeOptions {
            max_file: 1000,
            ..opts()
        },
    )
    .await;
    // A header promising 1 GiB and no body at all: a backup reading the
    // body first would wait for it until the deadline (5 s).
    let mut frame = Vec::from(*b"LVSY\x01\x01");
    frame.extend_from_slice(&(1u32 << 30).to_be_bytes());
    let config = cfsync::tls::client_config(&primary, backup.identity.fingerprint()).unwrap();
    let start = Instant::now();
    let reply = raw_exchange(config, backup.addr, &frame).await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        decode(&reply),
        Reply::Refused(Refusal::TooLarge {
            size: 1 << 30,
            limit: 1000 + wire::ENVELOPE
        })
    );

    // Through the ordinary push: the refusal, not a broken pipe.
    let mut big = lvs_cf(1);
    big.extend(std::iter::repeat_n(b'#', 200_000));
    big.push(b'\n');
    match push(&primary, &backup, big, None, false).await {
        Reply::Refused(Refusal::TooLarge { limit, .. }) => assert_eq!(limit, 1000 + wire::ENVELOPE),
        other => panic!("{other:?}"),
    }
    assert_eq!(backup.file(), None);
}

#[tokio::test]
async fn garbage_gets_an_error_reply_and_changes_nothing() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(&primary, opts()).await;
    let config = cfsync::tls::client_config(&primary, backup.identity.fingerprint()).unwrap();
    let reply = raw_exchange(config, backup.addr, b"GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    match decode(&reply) {
        Reply::Error(e) => assert!(e.contains("not a sync message"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(backup.file(), None);
}

#[tokio::test]
async fn an_idle_connection_is_closed_at_the_deadline_and_holds_its_slot_until_then() {
    let primary = Identity::generate().unwrap();
    let backup = Backup::start(
        &primary,
        ServeOptions {
            max_connections: 1,
            deadline: Duration::from_millis(500),
            ..opts()
        },
    )
    .await;
    // Connected, handshake never started: holds the one slot.
    let mut idle = TcpStream::connect(backup.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let busy = cfsync::push_file(&primary, &backup.peer(), "r1", lvs_cf(1), None, false).await;
    assert!(busy.is_err(), "{busy:?}");
    assert_eq!(backup.file(), None);

    let start = Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut buf))
        .await
        .expect("closed by the deadline")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );

    // The slot is free again.
    let reply = push(&primary, &backup, lvs_cf(1), None, false).await;
    accepted(&reply);
}
