//! The client side of the helper's socket: one typed method per verb, as a
//! blocking [`Client`] (the `lvs-admin` command line) and a tokio
//! [`AsyncClient`] (the web process). Both write and read through
//! [`crate::proto`].

use std::fmt;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::proto::{
    self, Applied, CheckReport, ControlAction, Digest, FrameError, IpvsPreview, LoginOutcome,
    Password, Reply, Request, Response, RevisionInfo, StatusReport, SyncOutcome, SyncState,
};

/// Where the helper listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/lvs-admin.sock";

/// Why a call did not give an answer of the verb's kind.
#[derive(Debug)]
pub enum ClientError {
    /// The socket could not be reached (helper not running, no
    /// permission: the caller is not in the helper's group).
    Connect {
        /// The socket.
        path: PathBuf,
        /// What connect said.
        source: std::io::Error,
    },
    /// The request could not be sent, or the reply not read.
    Frame(FrameError),
    /// The helper refused (a conflict, a check failure, …).
    Refused(proto::Error),
    /// The helper answered with another verb's reply (a helper of another
    /// version).
    Unexpected(&'static str),
    /// The other router refused a push, or did not answer
    /// (`sync_push`).
    Sync(SyncOutcome),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { path, source } => {
                write!(f, "cannot reach lvs-admin at {}: {source}", path.display())
            }
            ClientError::Frame(e) => write!(f, "connection to the helper: {e}"),
            ClientError::Refused(e) => write!(f, "{e}"),
            ClientError::Unexpected(verb) => {
                write!(f, "lvs-admin answered {verb} with another verb's reply")
            }
            ClientError::Sync(outcome) => f.write_str(&outcome.summary()),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<FrameError> for ClientError {
    fn from(e: FrameError) -> Self {
        ClientError::Frame(e)
    }
}

/// A reply as the verb's result.
fn response(reply: Reply) -> Result<Response, ClientError> {
    match reply {
        Reply::Ok(r) => Ok(r),
        Reply::Error(e) => Err(ClientError::Refused(e)),
    }
}

/// `diff`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffReply {
    /// Unified diff of the file on disk and the candidate.
    pub text_diff: String,
    /// The IPVS writes a reload would make.
    pub ipvs: IpvsPreview,
    /// The candidate's check.
    pub check: CheckReport,
}

macro_rules! verbs {
    ($($async_:ident $await_:ident)?) => {
        /// `read`: the file's bytes and digest.
        pub $($async_)? fn read(&self) -> Result<(Vec<u8>, Digest), ClientError> {
            match self.call(&Request::Read) $(.$await_)? ? {
                Response::Read { text, digest } => Ok((text.0, digest)),
                _ => Err(ClientError::Unexpected("read")),
            }
        }

        /// `check`: `lvsd --check` of `text`.
        pub $($async_)? fn check(&self, text: &[u8]) -> Result<CheckReport, ClientError> {
            match self.call(&Request::Check { text: text.into() }) $(.$await_)? ? {
                Response::Check(r) => Ok(r),
                _ => Err(ClientError::Unexpected("check")),
            }
        }

        /// `diff`: against the file on disk and the running table.
        pub $($async_)? fn diff(&self, text: &[u8]) -> Result<DiffReply, ClientError> {
            match self.call(&Request::Diff { text: text.into() }) $(.$await_)? ? {
                Response::Diff { text_diff, ipvs, check } => Ok(DiffReply { text_diff, ipvs, check }),
                _ => Err(ClientError::Unexpected("diff")),
            }
        }

        /// `apply`: write `text` if the file on disk is still `base`.
        pub $($async_)? fn apply(
            &self,
            base: Digest,
            text: &[u8],
            reason: &str,
            user: &str,
        ) -> Result<Applied, ClientError> {
            let request = Request::Apply {
                base_digest: base,
                text: text.into(),
                reason: reason.to_owned(),
                user: user.to_owned(),
            };
            match self.call(&request) $(.$await_)? ? {
                Response::Apply(a) => Ok(*a),
                _ => Err(ClientError::Unexpected("apply")),
            }
        }

        /// `history`: the revisions kept, newest first.
        pub $($async_)? fn history(&self) -> Result<Vec<RevisionInfo>, ClientError> {
            match self.call(&Request::History) $(.$await_)? ? {
                Response::History { revisions } => Ok(revisions),
                _ => Err(ClientError::Unexpected("history")),
            }
        }

        /// `show`: one revision and its bytes.
        pub $($async_)? fn show(&self, rev: u64) -> Result<(RevisionInfo, Vec<u8>), ClientError> {
            match self.call(&Request::Show { rev }) $(.$await_)? ? {
                Response::Show { revision, text } => Ok((revision, text.0)),
                _ => Err(ClientError::Unexpected("show")),
            }
        }

        /// `restore`: apply revision `rev`'s bytes again.
        pub $($async_)? fn restore(&self, rev: u64, reason: &str, user: &str) -> Result<Applied, ClientError> {
            let request = Request::Restore {
                rev,
                reason: reason.to_owned(),
                user: user.to_owned(),
            };
            match self.call(&request) $(.$await_)? ? {
                Response::Restore(a) => Ok(*a),
                _ => Err(ClientError::Unexpected("restore")),
            }
        }

        /// `control`: `lvsd --control ACTION VIRTUAL/SERVER` (not saved).
        pub $($async_)? fn control(
            &self,
            action: ControlAction,
            virtual_name: &str,
            server: &str,
            user: &str,
        ) -> Result<(), ClientError> {
            let request = Request::Control {
                action,
                virtual_name: virtual_name.to_owned(),
                server: server.to_owned(),
                user: user.to_owned(),
            };
            match self.call(&request) $(.$await_)? ? {
                Response::Control => Ok(()),
                _ => Err(ClientError::Unexpected("control")),
            }
        }

        /// `status`: lvsd's and pulse's snapshots and the file's digest.
        pub $($async_)? fn status(&self) -> Result<StatusReport, ClientError> {
            match self.call(&Request::Status) $(.$await_)? ? {
                Response::Status(s) => Ok(*s),
                _ => Err(ClientError::Unexpected("status")),
            }
        }

        /// `sync-push`: send the file to the other router; how it went.
        pub $($async_)? fn sync_push_outcome(&self, force: bool, user: &str) -> Result<SyncOutcome, ClientError> {
            let request = Request::SyncPush { force, user: user.to_owned() };
            match self.call(&request) $(.$await_)? ? {
                Response::SyncPush(outcome) => Ok(outcome),
                _ => Err(ClientError::Unexpected("sync-push")),
            }
        }

        /// `sync-push` as one line when the peer took the file; a refusal
        /// or no answer is [`ClientError::Sync`].
        pub $($async_)? fn sync_push(&self, force: bool, user: &str) -> Result<String, ClientError> {
            match self.sync_push_outcome(force, user) $(.$await_)? ? {
                outcome @ SyncOutcome::Accepted { .. } => Ok(outcome.summary()),
                other => Err(ClientError::Sync(other)),
            }
        }

        /// `sync-status`: both routers' digests and `serial_no`s.
        pub $($async_)? fn sync_state(&self) -> Result<SyncState, ClientError> {
            match self.call(&Request::SyncStatus) $(.$await_)? ? {
                Response::SyncStatus(s) => Ok(*s),
                _ => Err(ClientError::Unexpected("sync-status")),
            }
        }

        /// `login`: check a web user's password in the helper (as root);
        /// the outcome, audited there.
        pub $($async_)? fn login(
            &self,
            user: &str,
            password: &str,
            source: &str,
        ) -> Result<LoginOutcome, ClientError> {
            let request = Request::Login {
                user: user.to_owned(),
                password: Password(password.to_owned()),
                source: source.to_owned(),
            };
            match self.call(&request) $(.$await_)? ? {
                Response::Login(outcome) => Ok(outcome),
                _ => Err(ClientError::Unexpected("login")),
            }
        }

        /// `sync-status` in one line ([`SyncState::summary`]).
        pub $($async_)? fn sync_status(&self) -> Result<String, ClientError> {
            self.sync_state() $(.$await_)? .map(|s| s.summary())
        }
    };
}

/// A blocking client: one connection per call.
#[derive(Debug, Clone)]
pub struct Client {
    path: PathBuf,
    deadline: Duration,
}

impl Client {
    /// A client of the helper at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Client {
        Client {
            path: path.into(),
            deadline: proto::REPLY_DEADLINE,
        }
    }

    /// Wait at most `deadline` for each reply (default
    /// [`proto::REPLY_DEADLINE`]).
    pub fn with_deadline(mut self, deadline: Duration) -> Client {
        self.deadline = deadline;
        self
    }

    /// The socket.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends `request`, returns the helper's reply as it came.
    pub fn call_raw(&self, request: &Request) -> Result<Reply, ClientError> {
        let mut stream =
            UnixStream::connect(&self.path).map_err(|source| ClientError::Connect {
                path: self.path.clone(),
                source,
            })?;
        let deadline = Instant::now() + self.deadline;
        let io = |e| ClientError::Frame(FrameError::Io(e));
        // Each read returns at least this often, so the deadline is kept.
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(io)?;
        stream.set_write_timeout(Some(self.deadline)).map_err(io)?;
        stream
            .write_all(&proto::encode_request(request))
            .map_err(io)?;
        stream.shutdown(std::net::Shutdown::Write).map_err(io)?;
        let bytes = proto::read_frame(&mut stream, proto::MAX_REPLY, deadline)?;
        Ok(proto::decode_reply(&bytes)?)
    }

    fn call(&self, request: &Request) -> Result<Response, ClientError> {
        response(self.call_raw(request)?)
    }

    verbs!();
}

/// A tokio client: one connection per call.
#[derive(Debug, Clone)]
pub struct AsyncClient {
    path: PathBuf,
    deadline: Duration,
}

impl AsyncClient {
    /// A client of the helper at `path`.
    pub fn new(path: impl Into<PathBuf>) -> AsyncClient {
        AsyncClient {
            path: path.into(),
            deadline: proto::REPLY_DEADLINE,
        }
    }

    /// Wait at most `deadline` for each reply.
    pub fn with_deadline(mut self, deadline: Duration) -> AsyncClient {
        self.deadline = deadline;
        self
    }

    /// The socket.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends `request`, returns the helper's reply as it came.
    pub async fn call_raw(&self, request: &Request) -> Result<Reply, ClientError> {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::UnixStream::connect(&self.path)
            .await
            .map_err(|source| ClientError::Connect {
                path: self.path.clone(),
                source,
            })?;
        let io = |e| ClientError::Frame(FrameError::Io(e));
        let send = async {
            stream.write_all(&proto::encode_request(request)).await?;
            stream.shutdown().await
        };
        tokio::time::timeout(self.deadline, send)
            .await
            .map_err(|_| ClientError::Frame(FrameError::Timeout))?
            .map_err(io)?;
        let bytes = proto::read_frame_async(&mut stream, proto::MAX_REPLY, self.deadline).await?;
        Ok(proto::decode_reply(&bytes)?)
    }

    async fn call(&self, request: &Request) -> Result<Response, ClientError> {
        response(self.call_raw(request).await?)
    }

    verbs!(async await);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Bytes, Error};
    use std::os::unix::net::UnixListener;

    /// A one-connection stand-in for the helper: decodes the request with
    /// the protocol module and answers with `answer(request)`.
    fn serve_one(
        listener: UnixListener,
        answer: impl FnOnce(Request) -> Reply + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
            let deadline = Instant::now() + Duration::from_secs(10);
            let bytes = proto::read_frame(&mut s, proto::MAX_REQUEST, deadline).expect("read");
            let request = proto::decode_request(&bytes).expect("decode");
            s.write_all(&proto::encode_reply(&answer(request)))
                .expect("write");
        })
    }

    #[test]
    fn blocking_and_async_clients_speak_the_protocol() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("admin.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let base = Digest::of(b"old");
        let served = serve_one(listener.try_clone().expect("clone"), move |r| {
            assert_eq!(
                r,
                Request::Apply {
                    base_digest: base,
                    text: Bytes::from("new\n"),
                    reason: "why".into(),
                    user: "alice".into()
                }
            );
            Reply::Error(Error::Conflict {
                current_digest: Digest::of(b"now"),
            })
        });
        match Client::new(&path).apply(base, b"new\n", "why", "alice") {
            Err(ClientError::Refused(Error::Conflict { current_digest })) => {
                assert_eq!(current_digest, Digest::of(b"now"))
            }
            other => panic!("{other:?}"),
        }
        served.join().expect("server");

        let served = serve_one(listener, |r| {
            assert_eq!(r, Request::Read);
            Reply::Ok(Response::Read {
                text: Bytes::from("x\n"),
                digest: Digest::of(b"x\n"),
            })
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (text, digest) = rt.block_on(AsyncClient::new(&path).read()).expect("read");
        assert_eq!((text.as_slice(), digest), (&b"x\n"[..], Digest::of(b"x\n")));
        served.join().expect("server");

        // The wrong verb's reply is an error, not a guess.
        let listener = {
            std::fs::remove_file(&path).expect("rm");
            UnixListener::bind(&path).expect("bind")
        };
        let served = serve_one(listener, |_| Reply::Ok(Response::Control));
        assert!(matches!(
            Client::new(&path).history(),
            Err(ClientError::Unexpected("history"))
        ));
        served.join().expect("server");
        // Nobody listening: a connect error naming the socket.
        std::fs::remove_file(&path).expect("rm");
        let e = Client::new(&path).status().expect_err("no helper");
        assert!(e.to_string().contains("admin.sock"), "{e}");
    }
}
