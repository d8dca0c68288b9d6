//! Mutual TLS between the two routers with one trusted certificate each:
//! the peer's, pinned by its SHA-256 fingerprint. No CA, no host name, no
//! validity dates: the pin is the whole trust decision, and the handshake
//! signature proves the peer holds the pinned certificate's key.
//!
//! TLS 1.3 only, ring's primitives (no aws-lc, so no C toolchain beyond cc).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig,
    SignatureScheme,
};

use crate::digest::Fingerprint;
use crate::identity::Identity;

/// ring's primitives, the only provider this crate uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts exactly the certificate whose SHA-256 is the pin, as a server
/// certificate (on the primary) and as a client certificate (on the
/// backup), and checks the handshake signature made with its key.
#[derive(Debug)]
pub struct Pinned {
    pin: Fingerprint,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    /// A verifier taking only the certificate with fingerprint `pin`,
    /// with `provider`'s signature algorithms.
    pub fn new(pin: Fingerprint, provider: &CryptoProvider) -> Pinned {
        Pinned {
            pin,
            algorithms: provider.signature_verification_algorithms,
        }
    }

    fn matches(&self, end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if Fingerprint::of_der(end_entity.as_ref()) == self.pin {
            Ok(())
        } else {
            // The peer's own certificate, but not the one paired with:
            // a stranger, or a router whose identity was made anew.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.matches(end_entity)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ClientCertVerifier for Pinned {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.matches(end_entity)
            .map(|()| ClientCertVerified::assertion())
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The primary's side: presents `identity`, trusts only `peer`.
pub fn client_config(
    identity: &Identity,
    peer: Fingerprint,
) -> Result<ClientConfig, rustls::Error> {
    let provider = provider();
    let verifier = Arc::new(Pinned::new(peer, &provider));
    ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![identity.certificate().clone()], identity.key())
}

/// The backup's side: presents `identity`, requires a client certificate
/// and takes only `peer`'s.
pub fn server_config(
    identity: &Identity,
    peer: Fingerprint,
) -> Result<ServerConfig, rustls::Error> {
    let provider = provider();
    let verifier = Arc::new(Pinned::new(peer, &provider));
    ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.certificate().clone()], identity.key())
}
