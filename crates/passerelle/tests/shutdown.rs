//! Stopping the service the way systemd, Docker and PaaS do: a real SIGTERM sent to a real `passerelle` process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn start(
    data_dir: &std::path::Path,
    addr: SocketAddr,
    args: &[&str],
    env: &[(&str, &str)],
) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passerelle"));
    cmd.args(args)
        .env("PASSERELLE_DATA_DIR", data_dir)
        .env("PASSERELLE_BIND", addr.to_string())
        .env_remove("DATABASE_URL")
        .env_remove("PASSERELLE_NOW")
        .env("PASSERELLE_QUIET_HOURS", "aucune")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start passerelle")
}

/// One HTTP/1.1 request on a fresh connection; the status line, or None when nothing answers.
fn get_status(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.lines().next().map(str::to_string)
}

fn wait_healthy(child: &mut Child, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            panic!("passerelle stopped before serving: {status}\n{err}");
        }
        if get_status(addr, "/healthz").is_some_and(|l| l.contains(" 200 ")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("passerelle did not answer /healthz in time");
}

fn send_signal(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{signal} failed");
}

fn wait_exit(child: &mut Child, within: Duration) -> (ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, start.elapsed());
        }
        if start.elapsed() > within {
            let _ = child.kill();
            panic!("passerelle did not exit within {within:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns its status line.
fn read_response(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("content-length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    head.lines().next().unwrap().to_string()
}

/// A login form posted slowly: headers and half the body now, the rest later. The CSRF middleware reads the
/// whole form before answering, so the request is in flight until the rest arrives. A first request on the same
/// (kept-alive) connection makes sure the server has accepted it before the signal is sent.
fn start_slow_post(addr: SocketAddr) -> (TcpStream, &'static [u8]) {
    let body: &[u8] = b"email=a%40b.fr&password=xxxxxxxxxxxx&csrf_token=abc";
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    assert!(read_response(&mut s).contains(" 200 "));
    write!(
        s,
        "POST /connexion HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body[..10]).unwrap();
    s.flush().unwrap();
    (s, &body[10..])
}

#[test]
fn sigterm_closes_the_port_lets_the_request_in_flight_finish_and_exits_0() {
    let dir = store::testing::TempDir::new();
    let addr = free_addr();
    let mut child = start(&dir.0, addr, &["demo"], &[]);
    wait_healthy(&mut child, addr);

    let (mut slow, rest) = start_slow_post(addr);
    std::thread::sleep(Duration::from_millis(500));
    send_signal(&child, "TERM");

    // No new connection is accepted while the slow request is still being served.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the port stayed open after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the process exited before the request in flight was answered"
    );

    // The request in flight still gets its answer (a CSRF refusal: the point is that it is answered).
    slow.write_all(rest).unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");

    let (status, took) = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "exit status {status}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(get_status(addr, "/healthz").is_none());
}

fn serve_env(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("PASSERELLE_SMTP_URL", "smtp://127.0.0.1:9?tls=none".into()),
        ("PASSERELLE_SMS_PROVIDER", "demo".into()),
        (
            "PASSERELLE_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        ),
        ("PASSERELLE_CLAMD", "tcp://127.0.0.1:9".into()),
        ("PASSERELLE_DATA_DIR", dir.display().to_string()),
    ]
}

#[test]
fn a_request_that_never_ends_is_abandoned_after_the_shutdown_bound() {
    let dir = store::testing::TempDir::new();
    let addr = free_addr();
    let env = serve_env(&dir.0);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("PASSERELLE_SHUTDOWN_SECS", "2"));
    let mut child = start(&dir.0, addr, &["serve"], &env);
    wait_healthy(&mut child, addr);

    let (_slow, _never_sent) = start_slow_post(addr);
    std::thread::sleep(Duration::from_millis(500));
    send_signal(&child, "TERM");
    let (status, took) = wait_exit(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "exit status {status}");
    assert!(
        took >= Duration::from_secs(2),
        "gave up too early: {took:?}"
    );
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("Arrêt forcé"), "{err}");
}

#[test]
fn the_worker_alone_stops_on_sigint_and_sigterm_with_exit_code_0() {
    for signal in ["TERM", "INT"] {
        let dir = store::testing::TempDir::new();
        let env = serve_env(&dir.0);
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.push(("RUST_LOG", "info"));
        let mut child = start(&dir.0, free_addr(), &["worker"], &env);
        // The worker has no port: wait until it says its first daily jobs have run.
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("daily jobs run") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(120))
            .expect("the worker did not run its daily jobs");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the worker stopped by itself"
        );
        send_signal(&child, signal);
        let (status, took) = wait_exit(&mut child, Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "SIG{signal}: exit status {status}");
        assert!(took < Duration::from_secs(10), "SIG{signal} took {took:?}");
    }
}
