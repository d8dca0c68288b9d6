//! lvs-web: see the crate docs (`src/lib.rs`) and `man/lvs-web.8`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use lvs_web::cli::{Args, Settings, Transport};
use lvs_web::{app, serve, tls};

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LVS_WEB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lvs-web: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<()> {
    // The web process is the exposed one: it must not hold root's powers.
    // Everything privileged goes through lvs-admin's fixed verbs.
    if nix::unistd::getuid().is_root() || nix::unistd::geteuid().is_root() {
        bail!(
            "refusing to run as root (uid 0): run lvs-web as its own unprivileged user \
             (the packaged unit uses User=lvs-web); privileged work goes through lvs-admin"
        );
    }
    let settings = Settings::from_args(args)?;
    let acceptor = match &settings.transport {
        Transport::Plain => None,
        Transport::Tls { cert, key } => {
            let loaded = tls::load_or_generate(cert, key, settings.listen.ip())?;
            if loaded.generated {
                eprintln!(
                    "lvs-web: generated a self-signed certificate {} (key {}, mode 0600)",
                    cert.display(),
                    key.display()
                );
            }
            eprintln!(
                "lvs-web: certificate SHA-256 fingerprint {}",
                loaded.fingerprint
            );
            Some(tokio_rustls::TlsAcceptor::from(loaded.config))
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Two workers: a UI for a handful of admins, on a router.
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let state = app::State::new(settings.clone())?;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("--listen {}", settings.listen))?;
        eprintln!(
            "lvs-web: listening on {}://{}",
            if acceptor.is_some() { "https" } else { "http" },
            settings.listen
        );
        serve::serve(
            listener,
            acceptor,
            app::router(state),
            serve::Limits::default(),
            shutdown(),
        )
        .await;
        Ok(())
    })
}

/// SIGTERM or SIGINT.
async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal streams, run until killed.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
