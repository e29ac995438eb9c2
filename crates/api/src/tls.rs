//! TCP listeners with TLS (`-H tcp://addr:port --tlsverify --tlscacert --tlscert
//! --tlskey`, Docker's flags). With `--tlsverify` a client certificate signed by the CA is
//! required (mutual TLS); without it the server still encrypts but anyone may connect,
//! which, like Docker, is only allowed when the user asks for TLS explicitly.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::server::{serve_conn, ServerState};

/// TLS settings from the command line.
#[derive(Debug, Clone)]
pub struct TlsFiles<'a> {
    /// CA that signs client certificates (required with `verify`).
    pub ca: Option<&'a Path>,
    /// Server certificate chain (PEM).
    pub cert: &'a Path,
    /// Server private key (PEM).
    pub key: &'a Path,
    /// Require client certificates.
    pub verify: bool,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{what} {path}: {message}")]
    Pem {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn pem_err(what: &'static str, path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        what,
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Builds the acceptor.
pub fn acceptor(files: &TlsFiles<'_>) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(files.cert)
        .map_err(|e| pem_err("--tlscert", files.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_err("--tlscert", files.cert, e))?;
    let key =
        PrivateKeyDer::from_pem_file(files.key).map_err(|e| pem_err("--tlskey", files.key, e))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let config = if files.verify {
        let ca = files
            .ca
            .ok_or_else(|| TlsError::Config("--tlsverify needs --tlscacert".into()))?;
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).map_err(|e| pem_err("--tlscacert", ca, e))? {
            roots
                .add(c.map_err(|e| pem_err("--tlscacert", ca, e))?)
                .map_err(|e| pem_err("--tlscacert", ca, e))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    }
    .with_single_cert(certs, key)
    .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts TLS connections forever; failed handshakes are dropped.
pub async fn serve_tls(
    state: Arc<ServerState>,
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let (state, acceptor) = (state.clone(), acceptor.clone());
        tokio::spawn(async move {
            if let Ok(tls) = acceptor.accept(tcp).await {
                serve_conn(state, tls).await;
            }
        });
    }
}
