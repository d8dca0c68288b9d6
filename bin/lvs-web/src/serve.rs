//! The accept loop: plain HTTP/1.1 or TLS, with the limits that keep a
//! client from holding the daemon (a capped number of connections, a TLS
//! handshake timeout, a request-header read timeout, a bounded header
//! buffer and a lifetime per connection). Body sizes and per-request
//! timeouts are layers on the router ([`crate::app`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The peer of a request's connection (for the login rate limit and the
/// audit log), put into every request's extensions by the accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// Per-connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more are closed at accept.
    pub max_connections: usize,
    /// A TLS handshake must finish within this.
    pub handshake: Duration,
    /// Each request's headers must arrive within this (also between
    /// requests on a kept-alive connection).
    pub header_read: Duration,
    /// A connection is closed after this, whatever it does.
    pub lifetime: Duration,
    /// Largest buffered request head.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            lifetime: Duration::from_secs(300),
            max_header_bytes: 16 * 1024,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            _ = &mut shutdown => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                "{addr}: {} connections open, closing this one",
                limits.max_connections
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = app.map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(Peer(addr));
                req
            });
            let svc = TowerToHyperService::new(svc);
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .max_buf_size(limits.max_header_bytes.max(8192));
            let served = async {
                match tls {
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                    }
                    Some(acceptor) => {
                        match tokio::time::timeout(limits.handshake, acceptor.accept(stream)).await
                        {
                            Ok(Ok(s)) => {
                                let _ = http.serve_connection(TokioIo::new(s), svc).await;
                            }
                            Ok(Err(e)) => tracing::debug!("{addr}: TLS handshake: {e}"),
                            Err(_) => tracing::debug!("{addr}: TLS handshake timed out"),
                        }
                    }
                }
            };
            let _ = tokio::time::timeout(limits.lifetime, served).await;
        });
    }
}
