//! A TCP proxy a test puts between a service and Postgres, RabbitMQ or Redis (or in front of a
//! service, the way a Kubernetes Service fronts pods) to break the line on purpose: cut it
//! (close every connection and refuse new ones), reset the open connections, delay every chunk,
//! point it at another target, and restore it. No external tool.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pass,
    Cut,
}

struct State {
    target: Mutex<SocketAddr>,
    mode: watch::Sender<Mode>,
    delay: Mutex<Duration>,
    conns: Mutex<Vec<AbortHandle>>,
}

/// The proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: AbortHandle,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.close_all();
    }
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target`.
    pub async fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("fault proxy: bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("fault proxy: {e}"));
        let state = Arc::new(State {
            target: Mutex::new(target),
            mode: watch::channel(Mode::Pass).0,
            delay: Mutex::new(Duration::ZERO),
            conns: Mutex::new(Vec::new()),
        });
        let s = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if *s.mode.borrow() == Mode::Cut {
                    drop(client);
                    continue;
                }
                let target = *lock(&s.target);
                let st = s.clone();
                let handle = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pipe(cr, sw, st.clone()) => {}
                        _ = pipe(sr, cw, st.clone()) => {}
                    }
                });
                let mut conns = lock(&s.conns);
                conns.retain(|h| !h.is_finished());
                conns.push(handle.abort_handle());
            }
        })
        .abort_handle();
        FaultProxy {
            addr,
            state,
            accept,
        }
    }

    /// Where to connect instead of the target.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection and refuses new ones until [`FaultProxy::restore`].
    pub fn cut(&self) {
        self.state.mode.send_replace(Mode::Cut);
        self.close_all();
    }

    /// Closes every open connection (a network reset); new ones are accepted.
    pub fn reset(&self) {
        self.close_all();
    }

    /// Accepts and forwards again, without delay.
    pub fn restore(&self) {
        *lock(&self.state.delay) = Duration::ZERO;
        self.state.mode.send_replace(Mode::Pass);
    }

    /// Delays every chunk forwarded, both ways.
    pub fn delay(&self, by: Duration) {
        *lock(&self.state.delay) = by;
    }

    /// Forwards new connections to another target (a replacement instance).
    pub fn retarget(&self, target: SocketAddr) {
        *lock(&self.state.target) = target;
    }

    fn close_all(&self) {
        for h in lock(&self.state.conns).drain(..) {
            h.abort();
        }
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: Arc<State>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let delay = *lock(&state.delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `url` with its `host:port` replaced by the proxy's address (`postgres://u@h:5432/db?x` →
/// `postgres://u@127.0.0.1:<proxy>/db?x`).
pub fn via_proxy(url: &str, proxy: &FaultProxy) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let userinfo = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{userinfo}{}{tail}", proxy.addr())
}

/// `host:port` of a URL, resolved for a proxy's target.
pub fn target_of(url: &str) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    let hostport = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("no address for {hostport}"))
}
