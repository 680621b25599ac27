//! HTTP serving: the axum router (one fallback handler that dispatches `/api/*` and `/_sim/*`),
//! fault injection for `/api/*` (latency, HTML 500, hang, reset, accept-then-drop) and our own
//! accept loop. Every connection's socket is wrapped in [`CtlStream`] so a handler can order
//! "close now" (or "reset now", with `SO_LINGER 0`) — the next write fails and hyper drops the
//! connection without the client ever seeing the answer.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::Shared;
use crate::api::{self, Reply};
use crate::params::Params;

/// Fault injection settings (apply to `/api/*` only). Rates are fractions in [0, 1].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added latency per request, milliseconds.
    pub latency_ms: u64,
    /// Uniform jitter added on top of the latency, milliseconds.
    pub jitter_ms: u64,
    /// Fraction answered with HTTP 500 and an HTML body (like a proxy), nothing processed.
    pub fail_rate: f64,
    /// Fraction that hang (nothing processed) for `hang_ms`, then the connection is closed.
    pub hang_rate: f64,
    /// Fraction whose connection is reset (RST) before processing.
    pub reset_rate: f64,
    /// Fraction processed and stored, then the connection is dropped without an answer.
    pub drop_after_accept_rate: f64,
    /// How long a hanging request hangs (default 60 s when 0).
    pub hang_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    Fail,
    Hang,
    Reset,
    Drop,
}

const OPEN: u8 = 0;
const CLOSE: u8 = 1;
const RESET: u8 = 2;

/// Per-connection control, put in every request's extensions by the accept loop.
#[derive(Clone, Default)]
pub struct ConnCtl(Arc<AtomicU8>);

impl ConnCtl {
    fn set(&self, v: u8) {
        self.0.store(v, Ordering::SeqCst);
    }
}

/// A TCP stream whose writes fail once its [`ConnCtl`] says close/reset.
struct CtlStream {
    inner: TcpStream,
    ctl: ConnCtl,
}

impl CtlStream {
    fn check(&self) -> io::Result<()> {
        match self.ctl.0.load(Ordering::SeqCst) {
            OPEN => Ok(()),
            RESET => {
                let _ = self.inner.set_zero_linger();
                Err(io::ErrorKind::ConnectionReset.into())
            }
            _ => Err(io::ErrorKind::ConnectionAborted.into()),
        }
    }
}

impl AsyncRead for CtlStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CtlStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The router over a simulator state: every path goes to one handler.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(shared)
}

fn roll(shared: &Shared) -> (Duration, Fault, Duration) {
    let mut g = shared.faults.lock().expect("faults lock");
    let (f, rng) = &mut *g;
    if f.latency_ms == 0
        && f.jitter_ms == 0
        && f.fail_rate == 0.0
        && f.hang_rate == 0.0
        && f.reset_rate == 0.0
        && f.drop_after_accept_rate == 0.0
    {
        return (Duration::ZERO, Fault::None, Duration::ZERO);
    }
    let jitter = if f.jitter_ms > 0 {
        rng.random_range(0..=f.jitter_ms)
    } else {
        0
    };
    let delay = Duration::from_millis(f.latency_ms.saturating_add(jitter));
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut kind = Fault::None;
    for (rate, k) in [
        (f.fail_rate, Fault::Fail),
        (f.hang_rate, Fault::Hang),
        (f.reset_rate, Fault::Reset),
        (f.drop_after_accept_rate, Fault::Drop),
    ] {
        acc += rate;
        if u < acc {
            kind = k;
            break;
        }
    }
    let hang = Duration::from_millis(if f.hang_ms == 0 { 60_000 } else { f.hang_ms });
    (delay, kind, hang)
}

fn with_cors(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

fn html(status: StatusCode, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// Renders a reply: HTTP 200 with the JSON envelope or the PNG, CORS `*`.
pub fn render(reply: Reply) -> Response {
    match reply {
        Reply::Json(v) => {
            let mut r = Response::new(Body::from(serde_json::to_vec(&v).unwrap_or_default()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            with_cors(r)
        }
        Reply::Png(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            with_cors(r)
        }
        Reply::NotFound => html(
            StatusCode::NOT_FOUND,
            "<html><body><h1>404 Not Found</h1></body></html>",
        ),
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if path == "/_sim" || path.starts_with("/_sim/") {
        return crate::control::handle(shared, req).await;
    }
    if !(path == "/api" || path.starts_with("/api/")) {
        return render(Reply::NotFound);
    }
    let ctl = req.extensions().get::<ConnCtl>().cloned();
    let (delay, fault, hang) = roll(&shared);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match fault {
        Fault::Fail => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html><head><title>500 Internal Server Error</title></head><body><center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center></body></html>",
            );
        }
        Fault::Hang => {
            tokio::time::sleep(hang).await;
            if let Some(c) = &ctl {
                c.set(CLOSE);
            }
            return html(
                StatusCode::GATEWAY_TIMEOUT,
                "<html><body>504 Gateway Time-out</body></html>",
            );
        }
        Fault::Reset => {
            if let Some(c) = &ctl {
                c.set(RESET);
                return Response::new(Body::empty());
            }
            return html(
                StatusCode::BAD_GATEWAY,
                "<html><body>502 Bad Gateway</body></html>",
            );
        }
        _ => {}
    }
    let query = req.uri().query().map(str::to_string);
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => bytes::Bytes::new(),
    };
    let params = Params::from_parts(query.as_deref(), ctype.as_deref(), body).await;
    let reply = {
        let mut st = shared.state.lock().expect("state lock");
        api::dispatch(&mut st, &path, &params)
    };
    if fault == Fault::Drop {
        if let Some(c) = &ctl {
            c.set(CLOSE);
            return Response::new(Body::empty());
        }
        return html(
            StatusCode::BAD_GATEWAY,
            "<html><body>502 Bad Gateway</body></html>",
        );
    }
    render(reply)
}

/// Accept loop: one hyper HTTP/1 connection task per socket, until `stop` fires.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use hyper_util::rt::TokioIo;
    use tower::ServiceExt;
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r { Ok(s) => s, Err(_) => continue },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let ctl = ConnCtl::default();
        let app = app.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(CtlStream {
                inner: stream,
                ctl: ctl.clone(),
            });
            let svc =
                hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ctl.clone());
                    app.clone().oneshot(req.map(Body::new))
                });
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, svc);
            tokio::select! {
                _ = conn => {}
                _ = stop.changed() => {}
            }
        });
    }
}
