//! Accept loops: HTTP/1.1 with upgrades on unix sockets (and TCP for `-H tcp://`).

use std::sync::Arc;

use berth_engine::Engine;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::body::Body;

/// What every handler can reach.
#[derive(Debug)]
pub struct ServerState {
    /// The engine.
    pub engine: Arc<Engine>,
}

/// Serves one connection until it closes (upgrades included).
pub async fn serve_conn<S>(state: Arc<ServerState>, io: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: Request<Incoming>| {
        let state = state.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    let _ = conn.await;
}

/// Routes a request and adds Docker's common headers.
async fn handle(state: Arc<ServerState>, req: Request<Incoming>) -> Response<Body> {
    let mut resp = crate::router::route(&state, req).await;
    let h = resp.headers_mut();
    h.insert(
        "Api-Version",
        HeaderValue::from_str(&crate::version::MAX.to_string()).expect("ascii"),
    );
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        // Docker's form (`Docker/<engine version> (<os>)`): 27.3.1 is the Docker release
        // whose API (1.47) berth serves; `berth` is named in /version.
        HeaderValue::from_static("Docker/27.3.1 (linux)"),
    );
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    resp
}

/// Accepts on a unix listener forever.
pub async fn serve_unix(state: Arc<ServerState>, listener: tokio::net::UnixListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_conn(state.clone(), stream));
            }
            Err(e) => {
                eprintln!("berthd: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
