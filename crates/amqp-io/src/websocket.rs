//! AMQP over WebSockets (the OASIS AMQP WebSocket binding): a byte stream carried in binary
//! WebSocket messages, for networks that only open port 443 and for HTTP proxies.
//!
//! Message boundaries mean nothing to AMQP: a frame may span messages and a message may
//! hold several frames, so [`WebSocketStream`] is a plain `AsyncRead + AsyncWrite` the
//! connection task runs on like TCP. Pings are answered, text messages are a protocol
//! error, and a peer that drops TCP without the closing handshake reads as end of stream
//! (the service does that). The handshake itself is `tokio-tungstenite`'s.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};

use crate::Error;

/// The path Event Hubs serves AMQP over WebSockets on.
pub const PATH: &str = "/$servicebus/websocket";

/// The subprotocol of the AMQP WebSocket binding (what the Python and JavaScript SDKs ask
/// for; .NET and Go ask for [`SUBPROTOCOL_SHORT`]).
pub const SUBPROTOCOL: &str = "AMQPWSB10";

/// The other subprotocol name peers use for the same binding.
pub const SUBPROTOCOL_SHORT: &str = "amqp";

/// Default largest WebSocket message we write: AMQP output is cut into messages of at
/// most this size (a peer's buffers need not hold a whole batch).
pub const DEFAULT_MAX_WRITE_MESSAGE: usize = 64 * 1024;

/// Largest message or frame we accept from the peer.
const MAX_READ_MESSAGE: usize = 16 * 1024 * 1024;

/// AMQP bytes over a WebSocket connection.
#[derive(Debug)]
pub struct WebSocketStream<S> {
    ws: tokio_tungstenite::WebSocketStream<S>,
    /// The rest of the binary message being read.
    unread: Bytes,
    /// The peer closed (or dropped) the WebSocket: reads return end of stream.
    read_closed: bool,
    max_write_message: usize,
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_READ_MESSAGE))
        .max_frame_size(Some(MAX_READ_MESSAGE))
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Runs the client handshake on `stream` (already connected, and TLS-wrapped for
    /// `wss://`) for `url` (`wss://{host}:{port}/$servicebus/websocket`), asking for the
    /// [`SUBPROTOCOL`], which the server must choose.
    pub async fn connect(stream: S, url: &str) -> Result<Self, Error> {
        let mut request = url
            .into_client_request()
            .map_err(|e| Error::WebSocket(format!("bad WebSocket URL {url:?}: {e}")))?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
        let (ws, _response) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(config()))
                .await
                .map_err(|e| Error::WebSocket(format!("WebSocket handshake with {url}: {e}")))?;
        Ok(Self::new(ws))
    }

    /// Runs the server handshake on an accepted `stream`: the request must be for
    /// [`PATH`] (with or without a trailing `/`, `$` escaped or not) and ask for one of the
    /// AMQP subprotocols, which is echoed; anything else is answered 404 or 400.
    pub async fn accept(stream: S) -> Result<Self, Error> {
        let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, answer, Some(config()))
            .await
            .map_err(|e| Error::WebSocket(format!("WebSocket handshake: {e}")))?;
        Ok(Self::new(ws))
    }

    fn new(ws: tokio_tungstenite::WebSocketStream<S>) -> Self {
        Self {
            ws,
            unread: Bytes::new(),
            read_closed: false,
            max_write_message: DEFAULT_MAX_WRITE_MESSAGE,
        }
    }

    /// Writes AMQP output in WebSocket messages of at most `bytes` (at least 1).
    pub fn with_max_write_message(mut self, bytes: usize) -> Self {
        self.max_write_message = bytes.max(1);
        self
    }
}

/// The server's answer to an upgrade request.
// The shape tungstenite's handshake callback requires.
#[allow(clippy::result_large_err)]
fn answer(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let path = request.uri().path().replace("%24", "$");
    if path.trim_end_matches('/') != PATH {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            format!("AMQP over WebSockets is served on {PATH}, not {path}"),
        ));
    }
    let offered = request
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| p.eq_ignore_ascii_case(SUBPROTOCOL) || p.eq_ignore_ascii_case(SUBPROTOCOL_SHORT))
        .map(str::to_owned);
    let Some(chosen) = offered.and_then(|p| HeaderValue::from_str(&p).ok()) else {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            format!("ask for the WebSocket subprotocol {SUBPROTOCOL} (or {SUBPROTOCOL_SHORT})"),
        ));
    };
    response
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", chosen);
    Ok(response)
}

fn refusal(status: StatusCode, why: String) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(why));
    *response.status_mut() = status;
    response
}

/// Whether `e` is the peer ending the connection, closing handshake or not.
fn is_end(e: &tungstenite::Error) -> bool {
    matches!(
        e,
        tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)
    )
}

fn to_io(e: tungstenite::Error) -> io::Error {
    match e {
        tungstenite::Error::Io(e) => e,
        e if is_end(&e) => io::Error::new(io::ErrorKind::BrokenPipe, e),
        e => io::Error::new(io::ErrorKind::InvalidData, e),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WebSocketStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.unread.is_empty() {
                let n = buf.remaining().min(this.unread.len());
                buf.put_slice(&this.unread[..n]);
                this.unread.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.read_closed {
                return Poll::Ready(Ok(()));
            }
            // Reading also sends the pong of a ping read before (tungstenite queues it).
            match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(bytes))) => this.unread = bytes,
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a text WebSocket message on an AMQP connection (AMQP travels in binary messages)",
                    )))
                }
                Some(Ok(Message::Close(_))) | None => this.read_closed = true,
                Some(Err(e)) if is_end(&e) => this.read_closed = true,
                Some(Err(e)) => return Poll::Ready(Err(to_io(e))),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WebSocketStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.ws).poll_ready(cx)).map_err(to_io)?;
        let n = buf.len().min(this.max_write_message);
        let message = Message::Binary(Bytes::copy_from_slice(&buf[..n]));
        Pin::new(&mut this.ws).start_send(message).map_err(to_io)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().ws)
            .poll_flush(cx)
            .map_err(to_io)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.get_mut().ws).poll_close(cx)) {
            Err(e) if !is_end(&e) => Poll::Ready(Err(to_io(e))),
            _ => Poll::Ready(Ok(())),
        }
    }
}
