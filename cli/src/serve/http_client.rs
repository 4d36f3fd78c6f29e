//! A small HTTP/1.1 client on hyper for the bundle server and the decision-log collector:
//! one connection a request (TLS with rustls for https:// URLs, trusting the CA file given),
//! a timeout on the whole exchange and a bound on the body.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its `ETag`, if any.
    pub etag: Option<String>,
    /// Its body.
    pub body: Bytes,
}

/// Where requests go and how: the URL, and for https the TLS configuration.
#[derive(Debug, Clone)]
pub struct Endpoint {
    uri: Uri,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Endpoint {
    /// `url` (http:// or https://); an https URL needs `ca`, the PEM file of the CA(s) its
    /// server's certificate is checked against.
    ///
    /// # Errors
    /// Not a URL, another scheme, no host, https without a CA, or a CA file that is unusable.
    pub fn new(url: &str, ca: Option<&Path>, ca_flag: &str) -> anyhow::Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("`{url}` is not a URL"))?;
        if uri.host().is_none() {
            bail!("`{url}`: the URL has no host");
        }
        let tls = match (uri.scheme_str(), ca) {
            (Some("http"), None) => None,
            (Some("http"), Some(_)) => bail!("{ca_flag} is for https:// URLs; `{url}` is http://"),
            (Some("https"), Some(ca)) => Some(Arc::new(client_config(ca)?)),
            (Some("https"), None) => bail!(
                "`{url}`: an https:// URL needs {ca_flag} (the CA that signed the server's certificate)"
            ),
            (Some(other), _) => {
                bail!("`{url}`: only http:// and https:// URLs are supported, not {other}://")
            }
            (None, _) => bail!("`{url}`: the URL needs a scheme (http:// or https://)"),
        };
        Ok(Self { uri, tls })
    }
}

fn client_config(ca: &Path) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)
        .with_context(|| format!("cannot read the CA file `{}`", ca.display()))?
    {
        let cert =
            cert.with_context(|| format!("`{}` is not a PEM certificate file", ca.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("`{}`: a certificate cannot be used", ca.display()))?;
    }
    if roots.is_empty() {
        bail!("`{}` holds no certificate", ca.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("no TLS version is available")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Sends one request and reads the answer (at most `max_body` bytes) within `timeout`.
///
/// # Errors
/// The server cannot be reached, the exchange fails or takes too long, or the body is too big.
pub async fn send(
    endpoint: &Endpoint,
    method: Method,
    headers: &[(&str, String)],
    body: Bytes,
    timeout: Duration,
    max_body: usize,
) -> anyhow::Result<Answer> {
    let uri = &endpoint.uri;
    tokio::time::timeout(timeout, async {
        let host = uri.host().context("the URL has no host")?;
        let port = uri
            .port_u16()
            .unwrap_or(if endpoint.tls.is_some() { 443 } else { 80 });
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .with_context(|| format!("cannot connect to {host}:{port}"))?;
        let _ = stream.set_nodelay(true);
        let request = request(uri, method, headers, body)?;
        match &endpoint.tls {
            None => exchange(stream, request, max_body).await,
            Some(config) => {
                let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                    .with_context(|| format!("`{host}` is not a valid TLS server name"))?;
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name, stream)
                    .await
                    .with_context(|| format!("the TLS handshake with {host}:{port} failed"))?;
                exchange(tls, request, max_body).await
            }
        }
    })
    .await
    .with_context(|| format!("no answer from {uri} within {timeout:?}"))?
}

fn request(
    uri: &Uri,
    method: Method,
    headers: &[(&str, String)],
    body: Bytes,
) -> anyhow::Result<Request<Full<Bytes>>> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or("", |a| a.as_str());
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, authority)
        .header(
            http::header::USER_AGENT,
            concat!("charter/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request
        .body(Full::new(body))
        .context("cannot build the HTTP request")
}

async fn exchange<S>(
    stream: S,
    request: Request<Full<Bytes>>,
    max_body: usize,
) -> anyhow::Result<Answer>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("the HTTP handshake failed")?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .context("the HTTP request failed")?;
        let status = response.status();
        let etag = response
            .headers()
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the answer: {e}"))?
            .to_bytes();
        Ok(Answer { status, etag, body })
    }
    .await;
    driver.abort();
    result
}
