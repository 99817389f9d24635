//! A small HTTP(S) GET for what the platform fetches itself (the identity provider's JWKS):
//! hyper over a TCP or rustls (ring, the system's roots) connection, no redirects, bounded in
//! time and size.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// The largest body accepted (a key set is a few kilobytes).
const MAX_BODY: usize = 1 << 20;

/// GETs `url` and returns the body of a 200 answer.
pub async fn get(url: &str, timeout: Duration) -> anyhow::Result<Vec<u8>> {
    tokio::time::timeout(timeout, fetch(url))
        .await
        .map_err(|_| anyhow::anyhow!("GET {url}: no answer within {timeout:?}"))?
}

async fn fetch(url: &str) -> anyhow::Result<Vec<u8>> {
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
    let req = http::Request::get(path)
        .header(http::header::HOST, host.as_str())
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())?;
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

async fn send<T>(io: TokioIo<T>, req: http::Request<Empty<Bytes>>) -> anyhow::Result<Vec<u8>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(conn);
    let res = sender.send_request(req).await?;
    if res.status() != http::StatusCode::OK {
        anyhow::bail!("answered {}", res.status());
    }
    let body = Limited::new(res.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("body: {e}"))?;
    Ok(body.to_bytes().to_vec())
}
