//! This router's key pair and self-signed certificate: made on first use,
//! kept in the state directory readable by root only, and shown to the
//! admin as a fingerprint to pin on the other router.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::digest::Fingerprint;

/// The private key's file in the state directory.
pub const KEY_FILE: &str = "sync-key.pem";
/// The certificate's file in the state directory.
pub const CERT_FILE: &str = "sync-cert.pem";

/// A router's key and certificate.
pub struct Identity {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    fingerprint: Fingerprint,
}

impl fmt::Debug for Identity {
    // Never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The identity could not be loaded or made.
#[derive(Debug)]
pub struct IdentityError {
    /// The file or directory concerned.
    pub path: PathBuf,
    /// What went wrong there.
    pub kind: IdentityErrorKind,
}

/// What went wrong with an identity file.
#[derive(Debug)]
pub enum IdentityErrorKind {
    /// Reading, writing or creating failed.
    Io(io::Error),
    /// The key file can be read by group or others (its mode).
    Exposed(u32),
    /// The key exists without the certificate or the reverse; making a new
    /// pair would silently undo the pairing, so the admin decides.
    Half(&'static str),
    /// Not a PEM certificate or key.
    Pem(String),
    /// The key pair or certificate could not be made.
    Generate(String),
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            IdentityErrorKind::Io(e) => write!(f, "{p}: {e}"),
            IdentityErrorKind::Exposed(mode) => write!(
                f,
                "{p}: mode {mode:04o}: the private key must not be readable by group or others (chmod 600)"
            ),
            IdentityErrorKind::Half(missing) => write!(
                f,
                "{p}: exists but {missing} does not; remove both files to make a new pair \
                 (and pair the routers again), or restore the missing one"
            ),
            IdentityErrorKind::Pem(e) => write!(f, "{p}: {e}"),
            IdentityErrorKind::Generate(e) => write!(f, "{p}: making a key pair: {e}"),
        }
    }
}

impl std::error::Error for IdentityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            IdentityErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

fn err(path: &Path, kind: IdentityErrorKind) -> IdentityError {
    IdentityError {
        path: path.to_owned(),
        kind,
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> IdentityError + '_ {
    move |e| err(path, IdentityErrorKind::Io(e))
}

impl Identity {
    /// Loads `dir/sync-key.pem` and `dir/sync-cert.pem`, or when neither
    /// exists makes a new pair and writes both (mode 0600, the directory
    /// made 0700 if missing). The key is refused when group or others can
    /// read it, and a lone key or certificate is an error rather than a
    /// reason to make a new pair.
    pub fn load_or_generate(dir: &Path) -> Result<Identity, IdentityError> {
        let key_path = dir.join(KEY_FILE);
        let cert_path = dir.join(CERT_FILE);
        match (key_path.exists(), cert_path.exists()) {
            (true, true) => Identity::load(dir),
            (true, false) => Err(err(&key_path, IdentityErrorKind::Half(CERT_FILE))),
            (false, true) => Err(err(&cert_path, IdentityErrorKind::Half(KEY_FILE))),
            (false, false) => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(io_err(dir))?;
                let (cert_pem, key_pem) = generate_pem().map_err(|e| err(dir, e))?;
                // The certificate last: a crash in between leaves a lone
                // key, which the next start reports instead of pairing
                // with a certificate whose key is gone.
                write_private(&key_path, key_pem.as_bytes())?;
                write_private(&cert_path, cert_pem.as_bytes())?;
                Identity::load(dir)
            }
        }
    }

    /// Loads an existing pair from `dir`.
    pub fn load(dir: &Path) -> Result<Identity, IdentityError> {
        let key_path = dir.join(KEY_FILE);
        let cert_path = dir.join(CERT_FILE);
        let mode = fs::metadata(&key_path)
            .map_err(io_err(&key_path))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(err(&key_path, IdentityErrorKind::Exposed(mode)));
        }
        let key_pem = fs::read(&key_path).map_err(io_err(&key_path))?;
        let cert_pem = fs::read(&cert_path).map_err(io_err(&cert_path))?;
        Identity::from_pem(&cert_pem, &key_pem).map_err(|(which, e)| {
            let path = if which == KEY_FILE {
                &key_path
            } else {
                &cert_path
            };
            err(path, IdentityErrorKind::Pem(e))
        })
    }

    /// A new identity held in memory only (tests, and a first look at the
    /// fingerprint format).
    pub fn generate() -> Result<Identity, IdentityError> {
        let (cert_pem, key_pem) = generate_pem().map_err(|e| err(Path::new("-"), e))?;
        Identity::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
            .map_err(|(_, e)| err(Path::new("-"), IdentityErrorKind::Pem(e)))
    }

    fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Identity, (&'static str, String)> {
        let cert = CertificateDer::from_pem_slice(cert_pem)
            .map_err(|e| (CERT_FILE, format!("not a PEM certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| (KEY_FILE, format!("not a PEM private key: {e}")))?;
        // A key that does not belong to the certificate would only show
        // at the peer's handshake as a bad signature; say it here.
        let provider = rustls::crypto::ring::default_provider();
        let signing = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| (KEY_FILE, format!("unusable private key: {e}")))?;
        let certified = rustls::sign::CertifiedKey::new(vec![cert.clone()], signing);
        if let Err(e) = certified.keys_match() {
            return Err((KEY_FILE, format!("does not match {CERT_FILE}: {e}")));
        }
        Ok(Identity {
            fingerprint: Fingerprint::of_der(cert.as_ref()),
            cert,
            key,
        })
    }

    /// SHA-256 of this router's certificate: what the other router pins.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The certificate (DER).
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// What the admin reads on this router to pair it with the other
    /// (the pairing is two steps, one on each router).
    pub fn pairing_text(&self, state_dir: &Path) -> String {
        format!(
            "This router's sync fingerprint (SHA-256 of {}):\n\n    {}\n\n\
             Pairing: give this value to the other router's lvs-admin as the peer \
             fingerprint, and give this router the other router's value the same \
             way. Check it against the file with:\n    \
             openssl x509 -noout -fingerprint -sha256 -in {}\n",
            state_dir.join(CERT_FILE).display(),
            self.fingerprint,
            state_dir.join(CERT_FILE).display(),
        )
    }
}

/// A new ECDSA P-256 key and a self-signed certificate for it, in PEM.
/// The name in it is informative only: the peer checks the fingerprint,
/// never a name or a CA.
fn generate_pem() -> Result<(String, String), IdentityErrorKind> {
    let gen_err = |e: rcgen::Error| IdentityErrorKind::Generate(e.to_string());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(gen_err)?;
    let mut params = rcgen::CertificateParams::new(vec!["lvs-sync".to_owned()]).map_err(gen_err)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "lvs-director config sync");
    let cert = params.self_signed(&key).map_err(gen_err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes a new file readable by its owner only, fsynced.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_use_generates_then_the_same_pair_is_loaded() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let a = Identity::load_or_generate(&dir).unwrap();
        for f in [KEY_FILE, CERT_FILE] {
            let mode = fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let b = Identity::load_or_generate(&dir).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            Fingerprint::of_der(b.certificate().as_ref())
        );
        assert_ne!(a.fingerprint(), Identity::generate().unwrap().fingerprint());
        let text = a.pairing_text(&dir);
        assert!(text.contains(&a.fingerprint().to_string()), "{text}");
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        Identity::load_or_generate(tmp.path()).unwrap();
        let key = tmp.path().join(KEY_FILE);
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let e = Identity::load_or_generate(tmp.path()).unwrap_err();
        assert!(matches!(e.kind, IdentityErrorKind::Exposed(0o644)), "{e}");
        assert_eq!(e.path, key);
    }

    #[test]
    fn a_lone_key_is_an_error_not_a_new_pair() {
        let tmp = tempfile::tempdir().unwrap();
        Identity::load_or_generate(tmp.path()).unwrap();
        fs::remove_file(tmp.path().join(CERT_FILE)).unwrap();
        let e = Identity::load_or_generate(tmp.path()).unwrap_err();
        assert!(matches!(e.kind, IdentityErrorKind::Half(CERT_FILE)), "{e}");
        assert!(!tmp.path().join(CERT_FILE).exists());
    }

    #[test]
    fn a_key_from_another_pair_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        Identity::load_or_generate(tmp.path()).unwrap();
        Identity::load_or_generate(other.path()).unwrap();
        fs::copy(other.path().join(KEY_FILE), tmp.path().join(KEY_FILE)).unwrap();
        let e = Identity::load(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let tmp = tempfile::tempdir().unwrap();
        Identity::load_or_generate(tmp.path()).unwrap();
        fs::write(tmp.path().join(CERT_FILE), "hello\n").unwrap();
        let e = Identity::load(tmp.path()).unwrap_err();
        assert_eq!(e.path, tmp.path().join(CERT_FILE));
        assert!(matches!(e.kind, IdentityErrorKind::Pem(_)), "{e}");
    }
}
