use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aftersales_platform::db;
use aftersales_platform::http_admin::{self, Readiness};
use aftersales_platform::shutdown::Shutdown;
use aftersales_platform::testing::TestDb;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let code = buf.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, buf)
}

#[tokio::test]
async fn readyz_follows_the_database_the_migrations_and_the_broker() {
    let db = TestDb::create(&[db::PLATFORM]).await;
    let broker = Arc::new(AtomicBool::new(false));
    let readiness = Readiness::new(Some(db.conn.clone()), &[db::PLATFORM]);
    readiness.add_link("broker", broker.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(http_admin::serve(listener, readiness, shutdown.clone()));

    assert_eq!(get(addr, "/healthz").await.0, 200);
    let (code, body) = get(addr, "/readyz").await;
    assert_eq!(code, 503, "broker down → not ready: {body}");
    assert!(body.contains("[\"broker\",false]"), "{body}");
    broker.store(true, Ordering::SeqCst);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    let (code, body) = get(addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        body.contains("text/plain") || body.contains("aftersales_"),
        "{body}"
    );

    shutdown.trigger();
    server.await.unwrap().unwrap();
}
