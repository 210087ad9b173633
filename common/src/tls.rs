//! TLS with rustls (the `ring` provider, the build's only one): the server side of connect's
//! `wss://` listener, and the trust of the Redis client for `rediss://` URLs. Certificates and
//! keys are PEM files (docs/operations.md, "TLS").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use anyhow::{Context, bail};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
pub use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;

/// The crypto provider of every TLS config here (explicit: no process-wide default is needed).
/// `ring` builds with a C compiler alone (aws-lc-rs, rustls's default, needs more tools); rustls
/// marks it deprecated for lacking post-quantum key exchange, which clients of this service do not
/// negotiate yet.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate of a PEM file (a chain: the leaf first).
pub fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read the certificate file {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate file", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate (PEM \"BEGIN CERTIFICATE\")", path.display());
    }
    Ok(certs)
}

/// A TLS acceptor for a listener from its certificate chain and key files; None when both paths
/// are empty (plain TCP), an error when only one is set or a file does not read.
pub fn acceptor(what: &str, cert: &str, key: &str) -> anyhow::Result<Option<TlsAcceptor>> {
    match (cert.is_empty(), key.is_empty()) {
        (true, true) => return Ok(None),
        (false, false) => {}
        _ => bail!("{what}.tls_cert and {what}.tls_key go together: set both (TLS) or neither"),
    }
    let chain = certificates(Path::new(cert))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("{what}.tls_key: cannot read a PEM private key from {key}"))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| format!("{what}.tls_cert and {what}.tls_key do not make a certificate and its key"))?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// The TLS client config of the Redis client: the CAs of the PEM file `ca`.
pub fn client_config(ca: &Path) -> anyhow::Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca)? {
        roots.add(cert).with_context(|| format!("redis.tls_ca: a certificate of {} is not usable", ca.display()))?;
    }
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A server's byte stream from a client: plain TCP, or TLS over it when the listener has a
/// certificate (connect's `wss://`, gm's `https://`). The TLS handshake runs in the connection's
/// task, inside the listener's handshake or header timeout.
pub enum MaybeTls {
    Plain(TcpStream),
    /// Boxed: a TLS session's state is large, and most nodes run plain behind a balancer.
    Tls(Box<TlsStream<TcpStream>>),
}

impl MaybeTls {
    /// `tcp` as it is, or after the TLS handshake when `tls` is set.
    pub async fn accept(tcp: TcpStream, tls: Option<&TlsAcceptor>) -> io::Result<MaybeTls> {
        match tls {
            None => Ok(MaybeTls::Plain(tcp)),
            Some(acceptor) => Ok(MaybeTls::Tls(Box::new(acceptor.accept(tcp).await?))),
        }
    }
}

impl AsyncRead for MaybeTls {
    fn poll_read(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTls::Plain(s) => s.is_write_vectored(),
            MaybeTls::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The files of a development TLS setup ([`development`]).
#[derive(Clone, Debug)]
pub struct DevCert {
    /// The CA's certificate: what clients trust (`NODE_EXTRA_CA_CERTS`, Python's `cafile`, ...).
    pub ca: PathBuf,
    /// The server's certificate chain and key (connect.tls_cert / tls_key, redis-server's).
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A throwaway CA and a server certificate it signs for `hosts` (names and IP addresses), written
/// to `dir` as `ca.pem`, `cert.pem` and `key.pem` (`matchday up --tls`, and the tests' TLS Redis).
/// Never for production: the CA's key is not kept, so nothing else can be signed by it, and the
/// files are made anew on every call.
pub fn development(dir: &Path, hosts: &[&str]) -> anyhow::Result<DevCert> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "matchday development CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let mut leaf = CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
    leaf.distinguished_name.push(DnType::CommonName, "matchday development server");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;
    let files = DevCert { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    for (path, pem) in
        [(&files.ca, ca_cert.pem()), (&files.cert, leaf_cert.pem()), (&files.key, leaf_key.serialize_pem())]
    {
        std::fs::write(path, pem).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_files_is_plain_tcp_and_half_a_pair_or_a_missing_file_is_refused_naming_the_setting() {
        assert!(acceptor("connect", "", "").unwrap().is_none());
        let err = acceptor("connect", "/x/cert.pem", "").err().unwrap().to_string();
        assert!(err.contains("connect.tls_cert and connect.tls_key go together"), "{err}");
        let err = format!("{:#}", acceptor("connect", "/nonexistent/cert.pem", "/nonexistent/key.pem").err().unwrap());
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    }

    #[test]
    fn a_development_certificate_makes_a_server_config_and_its_ca_a_client_config() {
        let dir = std::env::temp_dir().join(format!("md-tls-{}", uuid::Uuid::new_v4().simple()));
        let dev = development(&dir, &["localhost", "127.0.0.1"]).unwrap();
        let cert = dev.cert.display().to_string();
        let key = dev.key.display().to_string();
        assert!(acceptor("connect", &cert, &key).unwrap().is_some());
        assert!(client_config(&dev.ca).is_ok());
        assert_eq!(certificates(&dev.cert).unwrap().len(), 1);
        // The key is not a certificate: a swapped pair is refused, naming the setting.
        let err = format!("{:#}", acceptor("connect", &key, &cert).err().unwrap());
        assert!(err.contains("holds no certificate") || err.contains("connect.tls_key"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
