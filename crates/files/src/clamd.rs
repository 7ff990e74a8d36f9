//! A minimal clamd client: `zPING`, and `zINSTREAM` (chunks prefixed with their 4-byte big-endian length, a zero
//! length to end, one NUL-terminated reply such as `stream: OK` or `stream: Eicar-Test-Signature FOUND`), over TCP
//! or a Unix socket.

use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const CLAMD_ENV: &str = "PASSERELLE_CLAMD";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddr {
    Tcp(String),
    Unix(PathBuf),
}

impl ClamdAddr {
    /// `tcp://host:port` or `unix:///path/to/clamd.ctl`.
    pub fn parse(s: &str) -> Result<ClamdAddr, String> {
        let s = s.trim();
        if let Some(hp) = s.strip_prefix("tcp://") {
            let hp = hp.trim_end_matches('/');
            if hp
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0))
            {
                return Ok(ClamdAddr::Tcp(hp.to_string()));
            }
        } else if let Some(p) = s.strip_prefix("unix://") {
            if p.starts_with('/') {
                return Ok(ClamdAddr::Unix(PathBuf::from(p)));
            }
        }
        Err("tcp://hôte:port ou unix:///chemin/vers/clamd.ctl attendu".into())
    }
}

impl std::fmt::Display for ClamdAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClamdAddr::Tcp(hp) => write!(f, "tcp://{hp}"),
            ClamdAddr::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature name reported by clamd.
    Infected(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ClamdError {
    #[error("antivirus injoignable ({addr}) : {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("échange avec l'antivirus interrompu : {0}")]
    Io(#[from] std::io::Error),
    #[error("l'antivirus n'a pas répondu à temps")]
    Timeout,
    #[error("l'antivirus a refusé l'analyse : {0}")]
    Refused(String),
}

trait Conn: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Conn for T {}

#[derive(Clone, Debug)]
pub struct Clamd {
    pub addr: ClamdAddr,
    /// Time allowed for the verdict once the whole file is sent (clamd scans at the end of the stream).
    pub verdict_timeout: Duration,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// clamd reads at most this much per chunk in practice; larger pieces are split.
const MAX_CHUNK: usize = 256 * 1024;

impl Clamd {
    pub fn new(addr: ClamdAddr) -> Clamd {
        Clamd {
            addr,
            verdict_timeout: Duration::from_secs(600),
        }
    }

    async fn connect(&self) -> Result<Pin<Box<dyn Conn>>, ClamdError> {
        let err = |source| ClamdError::Connect {
            addr: self.addr.to_string(),
            source,
        };
        let fut = async {
            Ok::<Pin<Box<dyn Conn>>, std::io::Error>(match &self.addr {
                ClamdAddr::Tcp(hp) => Box::pin(tokio::net::TcpStream::connect(hp.as_str()).await?),
                #[cfg(unix)]
                ClamdAddr::Unix(p) => Box::pin(tokio::net::UnixStream::connect(p).await?),
                #[cfg(not(unix))]
                ClamdAddr::Unix(_) => {
                    return Err(std::io::Error::other("Unix sockets are not supported here"))
                }
            })
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, fut).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(err(e)),
            Err(_) => Err(err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connexion trop longue",
            ))),
        }
    }

    /// `zPING` → `PONG`.
    pub async fn ping(&self) -> Result<(), ClamdError> {
        let mut c = self.connect().await?;
        c.write_all(b"zPING\0").await?;
        let reply = read_reply(&mut c, CONNECT_TIMEOUT).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(ClamdError::Refused(reply))
        }
    }

    /// Opens an INSTREAM session.
    pub async fn instream(&self) -> Result<Scan, ClamdError> {
        let mut conn = self.connect().await?;
        conn.write_all(b"zINSTREAM\0").await?;
        Ok(Scan {
            conn,
            timeout: self.verdict_timeout,
        })
    }

    /// Scans a whole buffer (small files, health checks).
    pub async fn scan_bytes(&self, data: &[u8]) -> Result<Verdict, ClamdError> {
        let mut s = self.instream().await?;
        s.send(data).await?;
        s.finish().await
    }
}

/// One INSTREAM session in progress.
pub struct Scan {
    conn: Pin<Box<dyn Conn>>,
    timeout: Duration,
}

impl Scan {
    pub async fn send(&mut self, data: &[u8]) -> Result<(), ClamdError> {
        for piece in data.chunks(MAX_CHUNK) {
            let len = (piece.len() as u32).to_be_bytes();
            let sent = async {
                self.conn.write_all(&len).await?;
                self.conn.write_all(piece).await
            }
            .await;
            if let Err(e) = sent {
                // clamd closes the connection when the stream exceeds its StreamMaxLength: say why if it told us.
                return Err(
                    match read_reply(&mut self.conn, Duration::from_secs(2)).await {
                        Ok(reply) if !reply.is_empty() => ClamdError::Refused(reply),
                        _ => ClamdError::Io(e),
                    },
                );
            }
        }
        Ok(())
    }

    /// Ends the stream and reads the verdict.
    pub async fn finish(mut self) -> Result<Verdict, ClamdError> {
        self.conn.write_all(&[0, 0, 0, 0]).await?;
        self.conn.flush().await?;
        let reply = read_reply(&mut self.conn, self.timeout).await?;
        parse_verdict(&reply)
    }
}

async fn read_reply<C: AsyncRead + Unpin + ?Sized>(
    c: &mut C,
    timeout: Duration,
) -> Result<String, ClamdError> {
    let read = async {
        let mut out = Vec::new();
        let mut byte = [0u8; 256];
        loop {
            let n = c.read(&mut byte).await?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&byte[..n]);
            if out.contains(&0) || out.len() > 4096 {
                break;
            }
        }
        Ok::<_, std::io::Error>(out)
    };
    let out = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ClamdError::Timeout)??;
    let end = out.iter().position(|b| *b == 0).unwrap_or(out.len());
    Ok(String::from_utf8_lossy(&out[..end]).trim().to_string())
}

/// `stream: OK`, `stream: <name> FOUND`, anything else (`… ERROR`) is a refusal to scan.
pub fn parse_verdict(reply: &str) -> Result<Verdict, ClamdError> {
    let body = reply.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => Ok(Verdict::Clean),
        Some(b) if b.ends_with(" FOUND") => Ok(Verdict::Infected(
            b.trim_end_matches(" FOUND").trim().to_string(),
        )),
        _ => Err(ClamdError::Refused(reply.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_verdicts_parse() {
        assert_eq!(
            ClamdAddr::parse("tcp://127.0.0.1:3310"),
            Ok(ClamdAddr::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            ClamdAddr::parse("unix:///run/clamav/clamd.ctl"),
            Ok(ClamdAddr::Unix("/run/clamav/clamd.ctl".into()))
        );
        for bad in [
            "127.0.0.1:3310",
            "tcp://host",
            "tcp://:1",
            "unix://rel",
            "http://x:1",
        ] {
            assert!(ClamdAddr::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_verdict("stream: OK").unwrap(), Verdict::Clean);
        assert_eq!(
            parse_verdict("stream: Eicar-Test-Signature FOUND").unwrap(),
            Verdict::Infected("Eicar-Test-Signature".into())
        );
        assert!(parse_verdict("INSTREAM size limit exceeded. ERROR").is_err());
        assert!(parse_verdict("").is_err());
    }
}
