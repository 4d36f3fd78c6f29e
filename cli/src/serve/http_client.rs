//! A small HTTP/1.1 client on hyper for the bundle server and the decision-log collector:
//! one connection a request, a timeout on the whole exchange and a bound on the body.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;

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

/// Checks that `url` is an `http://` URL with a host (what the client can reach).
///
/// # Errors
/// Another scheme, or no host.
pub fn parse_url(url: &str) -> anyhow::Result<Uri> {
    let uri: Uri = url
        .parse()
        .with_context(|| format!("`{url}` is not a URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => bail!(
            "`{url}`: only http:// URLs are supported (not {other}://); put a TLS-terminating proxy on loopback in front of an https server"
        ),
        None => bail!("`{url}`: the URL needs a scheme (http://)"),
    }
    if uri.host().is_none() {
        bail!("`{url}`: the URL has no host");
    }
    Ok(uri)
}

/// Sends one request and reads the answer (at most `max_body` bytes) within `timeout`.
///
/// # Errors
/// The server cannot be reached, the exchange fails or takes too long, or the body is too big.
pub async fn send(
    uri: &Uri,
    method: Method,
    headers: &[(&str, String)],
    body: Bytes,
    timeout: Duration,
    max_body: usize,
) -> anyhow::Result<Answer> {
    tokio::time::timeout(timeout, exchange(uri, method, headers, body, max_body))
        .await
        .with_context(|| format!("no answer from {uri} within {timeout:?}"))?
}

async fn exchange(
    uri: &Uri,
    method: Method,
    headers: &[(&str, String)],
    body: Bytes,
    max_body: usize,
) -> anyhow::Result<Answer> {
    let host = uri.host().context("the URL has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .with_context(|| format!("cannot connect to {host}:{port}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("the HTTP handshake failed")?;
    let driver = tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host, |a| a.as_str());
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
    let request = request
        .body(Full::new(body))
        .context("cannot build the HTTP request")?;
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
