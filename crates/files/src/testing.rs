//! Test support: a private clamd (Debian's `clamav-daemon`) on a free loopback port, with a signature database
//! written here (the EICAR test signature only: signature downloads are impossible in tests), killed on drop.
//!
//! When `/usr/sbin/clamd` (or `$CLAMD_BIN`) is missing, [`ClamdProcess::start`] panics: a skipped half is a
//! failure, unless the run explicitly allows it with `PASSERELLE_TEST_ALLOW_SKIP=1` (then `None`, with a warning).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::clamd::{Clamd, ClamdAddr};

/// The 68-byte EICAR anti-virus test file.
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/// `.hdb` line: MD5 of [`EICAR`], its size, the signature name.
pub const EICAR_HDB: &str = "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n";

pub struct ClamdProcess {
    child: Child,
    dir: PathBuf,
    pub addr: ClamdAddr,
}

impl ClamdProcess {
    pub fn clamd(&self) -> Clamd {
        Clamd::new(self.addr.clone())
    }

    /// Starts clamd and waits until it answers PING (at most 60 s).
    pub async fn start() -> Option<ClamdProcess> {
        let bin = std::env::var("CLAMD_BIN").unwrap_or_else(|_| "/usr/sbin/clamd".into());
        if !std::path::Path::new(&bin).exists() {
            if std::env::var("PASSERELLE_TEST_ALLOW_SKIP").as_deref() != Ok("1") {
                panic!(
                    "clamd is not installed at {bin} (apt-get install clamav-daemon); \
                     PASSERELLE_TEST_ALLOW_SKIP=1 skips the clamd half instead"
                );
            }
            eprintln!("warning: {bin} missing (apt-get install clamav-daemon); clamd test skipped (PASSERELLE_TEST_ALLOW_SKIP=1)");
            return None;
        }
        for _attempt in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let dir = std::env::temp_dir().join(format!(
                "passerelle-clamd-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&dir).expect("clamd temp dir");
            std::fs::write(dir.join("passerelle-test.hdb"), EICAR_HDB).expect("signature file");
            let conf = format!(
                "Foreground yes\nDatabaseDirectory {d}\nTemporaryDirectory {d}\nLogFile {d}/clamd.log\n\
                 PidFile {d}/clamd.pid\nTCPSocket {port}\nTCPAddr 127.0.0.1\nStreamMaxLength 100M\n\
                 MaxThreads 4\nSelfCheck 3600\n",
                d = dir.display()
            );
            std::fs::write(dir.join("clamd.conf"), conf).expect("clamd config");
            let child = Command::new(&bin)
                .arg("-c")
                .arg(dir.join("clamd.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn clamd");
            let mut p = ClamdProcess {
                child,
                dir,
                addr: ClamdAddr::Tcp(format!("127.0.0.1:{port}")),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            let clamd = p.clamd();
            while Instant::now() < deadline {
                if clamd.ping().await.is_ok() {
                    return Some(p);
                }
                if let Ok(Some(_)) = p.child.try_wait() {
                    break; // exited (port taken meanwhile?): try again
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let log = std::fs::read_to_string(p.dir.join("clamd.log")).unwrap_or_default();
            eprintln!("clamd did not start on port {port}:\n{log}");
        }
        panic!("clamd could not be started");
    }
}

impl Drop for ClamdProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Resident set size of this process, in bytes (Linux `/proc/self/statm`).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
