//! HTTP CONNECT tunnels: a TCP connection through an HTTP proxy (optionally with Basic
//! auth) to the target, on which TLS, WebSockets and AMQP then run as if direct.

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Error;

/// Longest proxy answer header read; a proxy that sends more is broken.
const MAX_ANSWER: usize = 8 * 1024;

/// Opens a tunnel to `target` (`host:port`) through the proxy at `proxy` (`host:port`),
/// authenticating with `credentials` (user, password) when given. The returned stream is
/// the tunnel: nothing the proxy sent after its answer has been read from it. A refusal is
/// [`Error::Proxy`] with the proxy's status (407: authentication required or wrong), and
/// never contains the password.
pub async fn connect_tunnel(
    proxy: &str,
    target: &str,
    credentials: Option<(&str, &str)>,
) -> Result<TcpStream, Error> {
    let mut stream = TcpStream::connect(proxy).await.map_err(|e| Error::Proxy {
        status: None,
        message: format!("cannot reach the proxy {proxy}: {e}"),
    })?;
    stream.set_nodelay(true)?;
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((user, password)) = credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let answer = read_answer(&mut stream, proxy).await?;
    let status = parse_status(&answer).ok_or_else(|| Error::Proxy {
        status: None,
        message: format!("the proxy {proxy} answered CONNECT with something other than HTTP"),
    })?;
    if (200..300).contains(&status) {
        return Ok(stream);
    }
    let asks = header(&answer, "proxy-authenticate")
        .map(|schemes| format!(" (it asks for {schemes}; only Basic is supported)"))
        .unwrap_or_default();
    let reason = answer
        .lines()
        .next()
        .and_then(|l| l.splitn(3, ' ').nth(2))
        .unwrap_or("")
        .trim();
    let what = match (status, credentials.is_some()) {
        (407, true) => "rejected the proxy credentials",
        (407, false) => "requires credentials",
        _ => "refused the tunnel",
    };
    Err(Error::Proxy {
        status: Some(status),
        message: format!("the proxy {proxy} {what} to {target}: {status} {reason}{asks}"),
    })
}

/// The answer's header, up to and including the empty line, read byte by byte so that the
/// tunnel's first bytes stay in the stream.
async fn read_answer(stream: &mut TcpStream, proxy: &str) -> Result<String, Error> {
    let mut answer = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= MAX_ANSWER {
            return Err(Error::Proxy {
                status: None,
                message: format!("the proxy {proxy} sent an answer longer than {MAX_ANSWER} bytes"),
            });
        }
        if stream.read(&mut byte).await? == 0 {
            return Err(Error::Proxy {
                status: None,
                message: format!(
                    "the proxy {proxy} closed the connection before answering CONNECT"
                ),
            });
        }
        answer.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// The status code of an `HTTP/1.x NNN reason` line.
fn parse_status(answer: &str) -> Option<u16> {
    let line = answer.lines().next()?;
    let mut parts = line.split(' ');
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

/// The value of header `name` (lower case), if present.
fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed() {
        let a = "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n";
        assert_eq!(parse_status(a), Some(407));
        assert_eq!(header(a, "proxy-authenticate"), Some("Basic realm=\"x\""));
        assert_eq!(
            parse_status("HTTP/1.0 200 Connection established\r\n\r\n"),
            Some(200)
        );
        assert_eq!(parse_status("SSH-2.0-OpenSSH\r\n\r\n"), None);
    }
}
