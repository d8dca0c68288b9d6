//! The two ends over TCP: the primary's [`push`] and [`query_status`], the
//! backup's [`Server`]. One request and one reply per connection, each
//! connection inside a deadline.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, Semaphore};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::digest::{Digest, Fingerprint};
use crate::identity::Identity;
use crate::rules::{self, Current, Decision, Policy};
use crate::store::{Store, StoreError};
use crate::wire::{
    self, Accepted, ENVELOPE, Push, ReadError, Refusal, Reply, Request, Status, WireError,
    WriteRecord,
};

/// The backup's default sync port (next to the configuration tool's 3636).
pub const DEFAULT_PORT: u16 = 3637;

/// The other router, as the primary reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Its sync address.
    pub addr: SocketAddr,
    /// Its certificate's fingerprint (from its pairing output).
    pub fingerprint: Fingerprint,
    /// Connect, handshake, send and reply, all inside this.
    pub timeout: Duration,
}

impl PeerConfig {
    /// A peer with the default timeout (10 s).
    pub fn new(addr: SocketAddr, fingerprint: Fingerprint) -> PeerConfig {
        PeerConfig {
            addr,
            fingerprint,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Which step of an exchange with the peer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Building the TLS configuration from the identity.
    Setup,
    /// Reading the file before sending it.
    Check,
    /// Reading or writing the base record ([`BaseFile`]).
    Base,
    /// The TCP connection.
    Connect,
    /// The TLS handshake (a certificate that is not the pinned one ends
    /// here on the primary's side).
    Handshake,
    /// Sending the request.
    Send,
    /// Reading the reply (a backup that refused this router's certificate
    /// ends the connection here).
    Receive,
    /// The reply was not the kind the request asks for.
    Reply,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Setup => "TLS setup",
            Step::Check => "reading the file",
            Step::Base => "the base record",
            Step::Connect => "connect",
            Step::Handshake => "TLS handshake",
            Step::Send => "sending",
            Step::Receive => "reading the reply",
            Step::Reply => "unexpected reply",
        })
    }
}

/// An exchange with the peer that did not produce a reply.
#[derive(Debug)]
pub struct SyncError {
    /// The peer.
    pub peer: SocketAddr,
    /// Where it stopped.
    pub step: Step,
    /// Why.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "config sync with {}: {}: {}",
            self.peer, self.step, self.source
        )
    }
}

impl std::error::Error for SyncError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

fn fail(
    peer: &PeerConfig,
    step: Step,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> SyncError + '_ {
    move |source| SyncError {
        peer: peer.addr,
        step,
        source,
    }
}

impl Push {
    /// The push of `file`: its digest and `serial_no` read here as the
    /// backup will read them ([`rules::check`], which may resolve names:
    /// call it off the async threads, or use [`push_file`]).
    pub fn new(sender: &str, file: Vec<u8>, base: Option<Digest>, force: bool) -> Push {
        Push {
            sender: sender.to_owned(),
            force,
            serial_no: rules::check(&file).serial_no,
            digest: Digest::of(&file),
            base,
            file,
        }
    }
}

/// Sends `push` to the peer and returns its answer ([`Reply::Accepted`]
/// or [`Reply::Refused`]; [`Reply::Error`] if the peer could not read it).
pub async fn push(identity: &Identity, peer: &PeerConfig, push: &Push) -> Result<Reply, SyncError> {
    let reply = exchange(
        identity,
        peer,
        wire::encode_request(&Request::Push(push.clone())),
    )
    .await?;
    match reply {
        Reply::Status(_) => Err(fail(peer, Step::Reply)("a status reply to a push".into())),
        other => Ok(other),
    }
}

/// [`Push::new`] on a blocking thread, then [`push()`].
pub async fn push_file(
    identity: &Identity,
    peer: &PeerConfig,
    sender: &str,
    file: Vec<u8>,
    base: Option<Digest>,
    force: bool,
) -> Result<Reply, SyncError> {
    let sender = sender.to_owned();
    let p = tokio::task::spawn_blocking(move || Push::new(&sender, file, base, force))
        .await
        .map_err(|e| fail(peer, Step::Check)(e.into()))?;
    push(identity, peer, &p).await
}

/// Asks the peer what it holds.
pub async fn query_status(identity: &Identity, peer: &PeerConfig) -> Result<Status, SyncError> {
    match exchange(identity, peer, wire::encode_request(&Request::Status)).await? {
        Reply::Status(s) => Ok(s),
        Reply::Error(e) => Err(fail(peer, Step::Reply)(
            format!("the peer said: {e}").into(),
        )),
        other => Err(fail(peer, Step::Reply)(
            format!("{other:?} to a status query").into(),
        )),
    }
}

async fn exchange(
    identity: &Identity,
    peer: &PeerConfig,
    frame: Vec<u8>,
) -> Result<Reply, SyncError> {
    let config = crate::tls::client_config(identity, peer.fingerprint)
        .map_err(|e| fail(peer, Step::Setup)(e.into()))?;
    let connector = TlsConnector::from(Arc::new(config));
    let work = async {
        let tcp = TcpStream::connect(peer.addr)
            .await
            .map_err(|e| fail(peer, Step::Connect)(e.into()))?;
        // The name is not checked (the pin is); rustls needs one.
        let name = ServerName::IpAddress(peer.addr.ip().into());
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| fail(peer, Step::Handshake)(e.into()))?;
        send_and_receive(tls, &frame)
            .await
            .map_err(|(step, e)| fail(peer, step)(e))
    };
    match tokio::time::timeout(peer.timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(fail(peer, Step::Receive)(
            format!("no reply within {:?}", peer.timeout).into(),
        )),
    }
}

type StepError = (Step, Box<dyn std::error::Error + Send + Sync>);

/// Writes the frame while reading the reply: a backup that refuses a push
/// from its header (too large) answers before it has read the rest, and
/// that answer is what the caller should see, not the broken pipe.
async fn send_and_receive(
    stream: impl AsyncRead + AsyncWrite + Unpin,
    frame: &[u8],
) -> Result<Reply, StepError> {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let write = async {
        wr.write_all(frame).await?;
        wr.flush().await
    };
    let read = wire::read_reply(&mut rd);
    tokio::pin!(write, read);
    let receive_err = |e: ReadError| (Step::Receive, Box::new(e) as _);
    tokio::select! {
        r = &mut read => r.map_err(receive_err),
        w = &mut write => match w {
            Ok(()) => read.await.map_err(receive_err),
            // The reply may still be there (an early refusal).
            Err(we) => read.await.map_err(|_| (Step::Send, Box::new(we) as _)),
        },
    }
}

/// What the primary last saw on the backup (the base of its next push),
/// kept in a file so a restart does not turn every push into a conflict.
#[derive(Debug, Clone)]
pub struct BaseFile {
    path: PathBuf,
}

impl BaseFile {
    /// `dir/peer-base`.
    pub fn in_dir(dir: &Path) -> BaseFile {
        BaseFile {
            path: dir.join("peer-base"),
        }
    }

    /// The base; `None` before the first accepted push.
    pub fn load(&self) -> io::Result<Option<Digest>> {
        match std::fs::read_to_string(&self.path) {
            Ok(s) => s.trim().parse().map(Some).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("{}: {e}", self.path.display()),
            )),
        }
    }

    /// Records `digest` as the backup's.
    pub fn save(&self, digest: Digest) -> io::Result<()> {
        crate::store::write_atomic(&self.path, format!("{digest}\n").as_bytes(), 0o600, None)
    }
}

/// The whole push as the primary's helper does it after an apply or on
/// demand: the base from `base`, the push, and on acceptance the backup's
/// new digest saved as the next base. A refusal leaves the base as it was.
pub async fn sync(
    identity: &Identity,
    peer: &PeerConfig,
    sender: &str,
    file: Vec<u8>,
    force: bool,
    base: &BaseFile,
) -> Result<Reply, SyncError> {
    let last = base.load().map_err(|e| fail(peer, Step::Base)(e.into()))?;
    let reply = push_file(identity, peer, sender, file, last, force).await?;
    if let Reply::Accepted(a) = &reply {
        base.save(a.digest)
            .map_err(|e| fail(peer, Step::Base)(e.into()))?;
    }
    Ok(reply)
}

/// The backup's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Largest file taken (default: [`lvscf::MAX_FILE_SIZE`], the largest
    /// lvsd reads).
    pub max_file: u64,
    /// Connections handled at once; more are closed at once (default 4:
    /// there is one peer).
    pub max_connections: usize,
    /// Each connection, handshake to reply (default 30 s).
    pub deadline: Duration,
    /// This router still runs piranha 0.8.6: refuse extension syntax.
    pub refuse_extensions: bool,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            max_file: lvscf::MAX_FILE_SIZE,
            max_connections: 4,
            deadline: Duration::from_secs(30),
            refuse_extensions: false,
        }
    }
}

/// The backup's end: takes pushes from the pinned peer only, checks them
/// with [`rules::decide`], writes through the [`Store`]. It runs nothing
/// and reloads nothing: the file is only stored.
pub struct Server {
    acceptor: TlsAcceptor,
    store: Arc<dyn Store>,
    options: ServeOptions,
    slots: Arc<Semaphore>,
    // One push decided and written at a time; the guard goes into the
    // blocking task, so a connection dropped at its deadline cannot let a
    // second push in while the first one's write is still running.
    writing: Arc<Mutex<()>>,
    peer_base: Option<BaseFile>,
}

impl Server {
    /// A server presenting `identity` and taking only `peer`.
    pub fn new(
        identity: &Identity,
        peer: Fingerprint,
        store: Arc<dyn Store>,
        options: ServeOptions,
    ) -> Result<Server, rustls::Error> {
        let config = crate::tls::server_config(identity, peer)?;
        Ok(Server {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            store,
            slots: Arc::new(Semaphore::new(options.max_connections)),
            options,
            writing: Arc::new(Mutex::new(())),
            peer_base: None,
        })
    }

    /// Also records each accepted push's digest as this router's base for
    /// pushing back: the sender pushed its own file, so that is what it
    /// holds. After a takeover, when this router is the one applying, its
    /// first push then finds the base it expects instead of a conflict.
    pub fn with_peer_base(mut self, base: BaseFile) -> Server {
        self.peer_base = Some(base);
        self
    }

    /// Accepts connections until the task is dropped. A failed accept
    /// (out of descriptors) is logged and retried after 100 ms.
    pub async fn run(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (tcp, remote) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("config sync: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                tracing::warn!("config sync: {remote}: too many connections, closed");
                continue;
            };
            let server = self.clone();
            tokio::spawn(async move {
                server.connection(tcp, remote).await;
                drop(permit);
            });
        }
    }

    /// Handles one accepted connection to the end, inside the deadline.
    pub async fn connection(&self, tcp: TcpStream, remote: SocketAddr) {
        match tokio::time::timeout(self.options.deadline, self.exchange(tcp)).await {
            Err(_) => tracing::warn!(
                "config sync: {remote}: no complete exchange within {:?}, closed",
                self.options.deadline
            ),
            Ok(Err(e)) => tracing::warn!("config sync: {remote}: {e}"),
            Ok(Ok(reply)) => log_reply(remote, &reply),
        }
    }

    async fn exchange(&self, tcp: TcpStream) -> Result<Reply, String> {
        let mut tls = self
            .acceptor
            .accept(tcp)
            .await
            .map_err(|e| format!("TLS handshake refused: {e}"))?;
        let limit = self.options.max_file.saturating_add(ENVELOPE);
        let reply = match wire::read_request(&mut tls, limit).await {
            Ok(Request::Status) => self.status().await,
            Ok(Request::Push(p)) => self.receive(p).await,
            // Refused from the header: the body is never read.
            Err(ReadError::Wire(WireError::TooLarge { size, limit })) => {
                Reply::Refused(Refusal::TooLarge { size, limit })
            }
            Err(ReadError::Wire(e)) => Reply::Error(e.to_string()),
            Err(ReadError::Io(e)) => return Err(format!("reading the request: {e}")),
        };
        tls.write_all(&wire::encode_reply(&reply))
            .await
            .map_err(|e| format!("sending the reply: {e}"))?;
        // Best effort: the reply is out; a peer gone already is no error.
        let _ = tls.shutdown().await;
        Ok(reply)
    }

    async fn status(&self) -> Reply {
        let store = self.store.clone();
        let work = move || -> io::Result<Status> {
            let current = store.current()?;
            Ok(Status {
                digest: current.as_deref().map(Digest::of),
                serial_no: current.as_deref().and_then(|b| rules::check(b).serial_no),
                last_write: store.last_write()?,
            })
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(Ok(s)) => Reply::Status(s),
            Ok(Err(e)) => Reply::Error(format!("reading the file: {e}")),
            Err(e) => Reply::Error(format!("reading the file: {e}")),
        }
    }

    async fn receive(&self, push: Push) -> Reply {
        let one_at_a_time = self.writing.clone().lock_owned().await;
        let store = self.store.clone();
        let policy = Policy {
            max_file: self.options.max_file,
            refuse_extensions: self.options.refuse_extensions,
        };
        let peer_base = self.peer_base.clone();
        let work = move || {
            let reply = receive_blocking(&*store, &push, &policy);
            if let (Reply::Accepted(a), Some(base)) = (&reply, &peer_base)
                && let Err(e) = base.save(a.digest)
            {
                tracing::warn!("config sync: recording the peer's digest: {e}");
            }
            drop(one_at_a_time);
            reply
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(reply) => reply,
            Err(e) => Reply::Refused(Refusal::NotStored {
                reason: e.to_string(),
            }),
        }
    }
}

/// Read, check, decide, write: the part that touches the disk and may
/// resolve names.
fn receive_blocking(store: &dyn Store, push: &Push, policy: &Policy) -> Reply {
    let not_stored = |e: &dyn fmt::Display| {
        Reply::Refused(Refusal::NotStored {
            reason: e.to_string(),
        })
    };
    let bytes = match store.current() {
        Ok(b) => b,
        Err(e) => return not_stored(&e),
    };
    let current = bytes.as_deref().map(|b| Current {
        digest: Digest::of(b),
        serial_no: rules::check(b).serial_no,
    });
    let checked = rules::check(&push.file);
    match rules::decide(current.as_ref(), push, &checked, policy) {
        Decision::Refuse(r) => Reply::Refused(r),
        Decision::Unchanged => Reply::Accepted(Accepted {
            digest: push.digest,
            written: false,
        }),
        Decision::Write => {
            let record = WriteRecord {
                at_unix: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                by: push.sender.clone(),
                digest: push.digest,
            };
            match store.replace(current.map(|c| c.digest), &push.file, &record) {
                Ok(()) => Reply::Accepted(Accepted {
                    digest: push.digest,
                    written: true,
                }),
                // Edited between the read and the write: the same
                // conflict the rules give for an earlier edit.
                Err(StoreError::Changed { current }) if !push.force => {
                    Reply::Refused(Refusal::Conflict {
                        current,
                        base: push.base,
                    })
                }
                Err(e) => not_stored(&e),
            }
        }
    }
}

fn log_reply(remote: SocketAddr, reply: &Reply) {
    match reply {
        Reply::Accepted(a) if a.written => {
            tracing::info!("config sync: {remote}: stored lvs.cf {}", a.digest)
        }
        Reply::Accepted(a) => {
            tracing::info!("config sync: {remote}: lvs.cf {} already held", a.digest)
        }
        Reply::Refused(r) => tracing::warn!(
            "config sync: {remote}: push refused: {}",
            crate::describe(r)
        ),
        Reply::Status(_) => tracing::debug!("config sync: {remote}: status"),
        Reply::Error(e) => tracing::warn!("config sync: {remote}: bad request: {e}"),
    }
}

/// Serves `listener` until the task is dropped; `Err` only when
/// the TLS configuration cannot be built.
pub async fn serve(
    identity: &Identity,
    peer: Fingerprint,
    listener: TcpListener,
    store: Arc<dyn Store>,
    options: ServeOptions,
) -> Result<(), rustls::Error> {
    let server = Arc::new(Server::new(identity, peer, store, options)?);
    server.run(listener).await;
    Ok(())
}
