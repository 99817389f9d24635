//! A small HTTP(S) client for what the services call themselves (the identity provider's JWKS, a
//! branch's webhook, an SMS provider): hyper over a TCP or rustls (ring, the system's roots)
//! connection, one request per connection, no redirects, bounded in time and size.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// The largest body accepted (a key set is a few kilobytes; a provider's answer less).
const MAX_BODY: usize = 1 << 20;

/// An answer: its status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: http::StatusCode,
    pub body: Vec<u8>,
}

/// GETs `url` and returns the body of a 200 answer.
pub async fn get(url: &str, timeout: Duration) -> anyhow::Result<Vec<u8>> {
    let a = request(
        http::Method::GET,
        url,
        &[(http::header::ACCEPT.as_str(), "application/json")],
        Vec::new(),
        timeout,
    )
    .await?;
    if a.status != http::StatusCode::OK {
        anyhow::bail!("GET {url}: answered {}", a.status);
    }
    Ok(a.body)
}

/// POSTs `body` to `url` with `headers` and returns the answer, whatever its status; an error
/// only when no answer came (refused, reset, timed out, bad TLS).
pub async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> anyhow::Result<Answer> {
    request(http::Method::POST, url, headers, body, timeout).await
}

async fn request(
    method: http::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> anyhow::Result<Answer> {
    tokio::time::timeout(timeout, fetch(method.clone(), url, headers, body))
        .await
        .map_err(|_| anyhow::anyhow!("{method} {url}: no answer within {timeout:?}"))?
}

async fn fetch(
    method: http::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> anyhow::Result<Answer> {
    let uri: http::Uri = url.parse()?;
    let host = uri
        .host()
        .ok_or_else(|| anyhow::anyhow!("{url}: no host"))?
        .to_owned();
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => anyhow::bail!("{url}: only http and https"),
    };
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
    tcp.set_nodelay(true)?;
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or(&host);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, authority);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body)))?;
    let res = if https {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host.clone())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        send(TokioIo::new(tls), req).await?
    } else {
        send(TokioIo::new(tcp), req).await?
    };
    Ok(res)
}

async fn send<T>(io: TokioIo<T>, req: http::Request<Full<Bytes>>) -> anyhow::Result<Answer>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(conn);
    let res = sender.send_request(req).await?;
    let status = res.status();
    let body = Limited::new(res.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("body: {e}"))?;
    Ok(Answer {
        status,
        body: body.to_bytes().to_vec(),
    })
}
