//! TLS for the listener: the admin's certificate, or on first start a
//! self-signed one generated here and stored mode 0600 next to
//! piranha.passwd, and its SHA-256 fingerprint for the admin to compare
//! with what the browser shows. rustls with the ring provider only.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// The certificate in use and whether this start made it.
pub struct Loaded {
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate's DER, `AB:CD:…`.
    pub fingerprint: String,
    pub generated: bool,
}

/// Loads `cert`/`key`; when neither exists, generates a self-signed pair
/// for `ip` (plus `localhost` and the host name) first. One present
/// without the other is an error (never overwrite an admin's file).
pub fn load_or_generate(cert: &Path, key: &Path, ip: IpAddr) -> Result<Loaded> {
    let generated = match (cert.exists(), key.exists()) {
        (true, true) => false,
        (false, false) => {
            let (c, k) = generate(ip)?;
            write_private(key, k.as_bytes())
                .with_context(|| format!("writing the generated key {}", key.display()))?;
            write_private(cert, c.as_bytes())
                .with_context(|| format!("writing the generated certificate {}", cert.display()))?;
            true
        }
        (true, false) => bail!(
            "{} exists but its key {} does not",
            cert.display(),
            key.display()
        ),
        (false, true) => bail!(
            "{} exists but its certificate {} does not",
            key.display(),
            cert.display()
        ),
    };
    let chain = read_chain(cert)?;
    let private = read_key(key)?;
    let fingerprint = fingerprint(&chain[0]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .with_context(|| {
            format!(
                "{} and {} do not make a pair",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Loaded {
        config: Arc::new(config),
        fingerprint,
        generated,
    })
}

/// A self-signed certificate (PEM) and its key (PEM) for `ip`.
pub fn generate(ip: IpAddr) -> Result<(String, String)> {
    let mut names = vec!["localhost".to_owned(), ip.to_string()];
    if let Ok(h) = nix::unistd::gethostname()
        && let Some(h) = h.to_str()
        && !h.is_empty()
        && !names.iter().any(|n| n == h)
    {
        names.push(h.to_owned());
    }
    if ip.is_unspecified() {
        names.retain(|n| n != &ip.to_string());
    }
    let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(names)
        .context("generating a self-signed certificate")?;
    Ok((cert.pem(), key_pair.serialize_pem()))
}

/// SHA-256 of a certificate's DER as colon-separated upper-case hex (the
/// form browsers and `openssl x509 -fingerprint -sha256` show).
pub fn fingerprint(der: &CertificateDer<'_>) -> String {
    let d = Sha256::digest(der.as_ref());
    d.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let chain = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a PEM certificate chain", path.display()))?;
    if chain.is_empty() {
        bail!("{}: no certificate in it", path.display());
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let pem = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .with_context(|| format!("{}: not a PEM private key", path.display()))?
        .with_context(|| format!("{}: no private key in it", path.display()))
}

/// Creates `path` mode 0600 (never replacing a file: create_new), writes
/// and fsyncs it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("lvs-web-tls-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn first_start_generates_a_0600_pair_then_reuses_it() {
        let d = tmp("gen");
        let (c, k) = (d.join("c.pem"), d.join("k.pem"));
        let first = load_or_generate(&c, &k, "127.0.0.1".parse().unwrap()).unwrap();
        assert!(first.generated);
        for p in [&c, &k] {
            assert_eq!(fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        let second = load_or_generate(&c, &k, "127.0.0.1".parse().unwrap()).unwrap();
        assert!(!second.generated);
        assert_eq!(first.fingerprint, second.fingerprint);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_lone_half_is_refused() {
        let d = tmp("half");
        let (c, k) = (d.join("c.pem"), d.join("k.pem"));
        fs::write(&c, "x").unwrap();
        let e = load_or_generate(&c, &k, "127.0.0.1".parse().unwrap())
            .err()
            .unwrap();
        assert!(e.to_string().contains("its key"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }
}
