//! `/containers/{id}/exec`, `/exec/{id}/start|resize|json`.

use std::sync::Arc;

use berth_engine::exec::ExecIo;
use bollard_stubs::models::ExecConfig;
use hyper::{Response, StatusCode};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::hijack;
use crate::request::{empty, json as json_resp, ok_json, Req};
use crate::server::ServerState;

/// `POST /containers/{id}/exec` → 201 `{"Id"}`.
pub async fn create(s: &Arc<ServerState>, mut req: Req, id: &str) -> ApiResult<Response<Body>> {
    let cfg: ExecConfig = req.json(false).await?;
    let exec_id = s.engine.create_exec(id, cfg)?;
    Ok(json_resp(StatusCode::CREATED, &json!({ "Id": exec_id })))
}

/// `GET /exec/{id}/json`.
pub async fn inspect(s: &Arc<ServerState>, _req: Req, id: &str) -> ApiResult<Response<Body>> {
    ok_json(&s.engine.inspect_exec(id)?)
}

/// `POST /exec/{id}/resize`.
pub async fn resize(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    let (h, w) = crate::routes::containers::dims(&req)?;
    s.engine.resize_exec(id, h, w)?;
    empty(StatusCode::OK)
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct StartBody {
    #[serde(default)]
    detach: bool,
    #[serde(default)]
    tty: bool,
    #[serde(default)]
    console_size: Option<Vec<u16>>,
}

/// `POST /exec/{id}/start`: 200 for detached, otherwise a hijacked stream that ends
/// after the exit code is recorded.
pub async fn start(s: &Arc<ServerState>, mut req: Req, id: &str) -> ApiResult<Response<Body>> {
    let body: StartBody = req.json(true).await?;
    let exec = s.engine.exec(id)?;
    let tty = exec.config.tty.unwrap_or(false) || body.tty;
    let size = body
        .console_size
        .as_ref()
        .and_then(|v| (v.len() == 2).then(|| (v[0], v[1])));
    let io = s.engine.start_exec(id, body.detach, size).await?;
    if body.detach {
        return empty(StatusCode::OK);
    }
    let ct = hijack::stream_type(tty, req.version);
    let engine = s.engine.clone();
    let exec_id = id.to_string();
    let attach_out = exec.config.attach_stdout.unwrap_or(true);
    let attach_err = exec.config.attach_stderr.unwrap_or(true);
    if req.wants_upgrade() {
        let on = req
            .take_upgrade()
            .ok_or_else(|| ApiError::bad_request("connection cannot be upgraded"))?;
        tokio::spawn(async move {
            let Ok(client) = hijack::upgraded(on).await else {
                return;
            };
            pump(
                client,
                io,
                tty,
                attach_out,
                attach_err,
                finish(engine, exec_id),
            )
            .await;
        });
        return Ok(hijack::upgrade_response(ct));
    }
    // No upgrade: output only, as a streamed body.
    let (tx, body) = Body::channel();
    tokio::spawn(async move {
        let (client, mut far) = tokio::io::duplex(64 * 1024);
        let fwd = tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            while let Ok(n) = far.read(&mut buf).await {
                if n == 0
                    || tx
                        .send(bytes::Bytes::copy_from_slice(&buf[..n]))
                        .await
                        .is_err()
                {
                    break;
                }
            }
        });
        pump(
            client,
            io,
            tty,
            attach_out,
            attach_err,
            finish(engine, exec_id),
        )
        .await;
        let _ = fwd.await;
    });
    Ok(crate::request::stream(hijack::RAW, body))
}

/// Waits until the exec's exit code is recorded; returns its start error, if any. The
/// stream must stay open until then: the CLI reads the exit code when it sees EOF.
async fn finish(engine: Arc<berth_engine::Engine>, id: String) -> Option<String> {
    let _ = engine.wait_exec(&id).await;
    engine.exec_start_error(&id)
}

/// Moves bytes between the client and the process until the process's output ends,
/// then waits for `done` (the recorded exit) and closes the stream.
async fn pump<C, F>(client: C, io: ExecIo, tty: bool, out: bool, err: bool, done: F)
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    F: std::future::Future<Output = Option<String>>,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    match io {
        ExecIo::Detached => {}
        ExecIo::Pty(master) => {
            let Ok(wr) = master.try_clone() else {
                return;
            };
            let mut rd = tokio::fs::File::from_std(master);
            let mut wr = tokio::fs::File::from_std(wr);
            let input = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut cr, &mut wr).await;
            });
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            input.abort();
        }
        ExecIo::Pipes {
            stdin,
            stdout,
            stderr,
        } => {
            let input = tokio::spawn(async move {
                if let Some(mut stdin) = stdin {
                    let _ = tokio::io::copy(&mut cr, &mut stdin).await;
                    let _ = stdin.shutdown().await;
                }
            });
            let (tx, mut rx) = mpsc::channel::<(u8, Vec<u8>)>(16);
            let reader = |mut r: Box<dyn AsyncRead + Send + Unpin>, stream: u8, wanted: bool| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        match r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if wanted && tx.send((stream, buf[..n].to_vec())).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                })
            };
            let a = reader(Box::new(stdout), 1, out);
            let b = reader(Box::new(stderr), 2, err);
            drop(tx);
            while let Some((stream, data)) = rx.recv().await {
                let ok = if tty {
                    cw.write_all(&data).await
                } else {
                    let mut frame = hijack::frame_header(stream, data.len()).to_vec();
                    frame.extend_from_slice(&data);
                    cw.write_all(&frame).await
                };
                if ok.is_err() {
                    break;
                }
            }
            let _ = a.await;
            let _ = b.await;
            input.abort();
        }
    }
    if let Some(msg) = done.await {
        // Docker writes it to the process's stdout writer: framed when there is no tty.
        let text = format!("{msg}\r\n");
        let mut data = Vec::new();
        if !tty {
            data.extend_from_slice(&hijack::frame_header(1, text.len()));
        }
        data.extend_from_slice(text.as_bytes());
        let _ = cw.write_all(&data).await;
    }
    let _ = cw.flush().await;
    let _ = cw.shutdown().await;
}
