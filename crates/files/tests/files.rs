//! The attachment store against a real clamd (started here with an EICAR-only signature database) and a real
//! local directory.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use files::testing::{rss_bytes, ClamdProcess, EICAR};
use files::{Clamd, ClamdAddr, FileError, FileStore, Keyring, ScanOutcome};
use futures::stream::{self, StreamExt};
use sha2::{Digest, Sha256};

struct Dir(PathBuf);
impl Dir {
    fn new() -> Dir {
        let p = std::env::temp_dir().join(format!("files-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every regular file under `dir` (staging files of aborted uploads included).
fn files_on_disk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}

fn one<B: Into<Bytes>>(b: B) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::iter([Ok(b.into())])
}

fn pieces(data: &[u8], size: usize) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let v: Vec<_> = data
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(v)
}

fn sample_pdf(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    let mut x: u32 = 12345;
    while v.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        v.push((x >> 16) as u8);
    }
    v
}

async fn store_with(dir: &Path, clamd: Option<Clamd>, max: u64) -> FileStore {
    FileStore::local(dir, Keyring::random(), clamd, max).unwrap()
}

#[tokio::test]
async fn eicar_is_refused_and_nothing_is_kept_while_clean_files_are_stored_encrypted() {
    let Some(clamd) = ClamdProcess::start().await else {
        return;
    };
    let dir = Dir::new();
    let fs = store_with(&dir.0, Some(clamd.clamd()), files::DEFAULT_MAX_BYTES).await;
    assert!(fs.scanning());

    // EICAR, in small pieces so that several INSTREAM chunks are sent.
    let err = fs
        .put_stream("eicar.txt", pieces(EICAR, 10))
        .await
        .unwrap_err();
    match &err {
        FileError::Infected {
            signature,
            sha256,
            size,
            filename,
        } => {
            assert!(signature.starts_with("Eicar-Test-Signature"), "{signature}");
            assert_eq!(*sha256, hex::encode(Sha256::digest(EICAR)));
            assert_eq!((*size, filename.as_str()), (68, "eicar.txt"));
        }
        other => panic!("expected Infected, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("Fichier refusé : un virus a été détecté ("),
        "{err}"
    );
    assert!(
        files_on_disk(&dir.0).is_empty(),
        "nothing kept: {:?}",
        files_on_disk(&dir.0)
    );
    assert!(fs.keys().await.unwrap().is_empty());

    // A clean PDF of a few chunks.
    let pdf = sample_pdf(300 * 1024 + 17);
    let stored = fs
        .put_stream("Procès-verbal n°3.pdf", pieces(&pdf, 10_000))
        .await
        .unwrap();
    assert_eq!(stored.scan, ScanOutcome::Clean);
    assert_eq!(stored.filename, "Procès-verbal n°3.pdf");
    assert_eq!(stored.content_type, "application/pdf");
    assert_eq!(stored.size, pdf.len() as u64);
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&pdf)));
    let on_disk = files_on_disk(&dir.0);
    assert_eq!(on_disk.len(), 1);
    let raw = std::fs::read(&on_disk[0]).unwrap();
    assert!(raw.len() > pdf.len(), "header and tags added");
    assert!(
        !raw.windows(8).any(|w| w == b"%PDF-1.7"),
        "plaintext visible on disk"
    );
    assert!(!raw.windows(64).any(|w| w == &pdf[1000..1064]));
    assert_eq!(fs.read_all(&stored.key).await.unwrap(), pdf);

    // The same plaintext stored twice gives different ciphertexts (random per-file key).
    let again = fs.put_stream("copie.pdf", one(pdf.clone())).await.unwrap();
    let raw2 = std::fs::read(dir.0.join(&again.key)).unwrap();
    assert_ne!(raw[..200], raw2[..200]);
    assert_eq!(again.sha256, stored.sha256);
}

#[tokio::test]
async fn an_unreachable_or_refusing_antivirus_keeps_nothing() {
    let dir = Dir::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = Clamd::new(ClamdAddr::Tcp(format!("127.0.0.1:{port}")));
    let fs = store_with(&dir.0, Some(down), files::DEFAULT_MAX_BYTES).await;
    let err = fs
        .put_stream("a.pdf", one(sample_pdf(1000)))
        .await
        .unwrap_err();
    assert!(matches!(err, FileError::ScanFailed(_)), "{err:?}");
    assert!(files_on_disk(&dir.0).is_empty());
}

#[tokio::test]
async fn oversize_wrong_type_empty_and_interrupted_uploads_keep_nothing() {
    let dir = Dir::new();
    let fs = store_with(&dir.0, None, 1024 * 1024).await;
    // 2 MiB against a 1 MiB limit, in pieces: refused while streaming.
    let big = sample_pdf(2 * 1024 * 1024);
    let err = fs
        .put_stream("gros.pdf", pieces(&big, 64 * 1024))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FileError::TooLarge { max } if max == 1024 * 1024),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Le fichier dépasse la taille maximale de 1 Mo."
    );
    // Exactly the limit is fine.
    let ok = fs
        .put_stream("pile.pdf", pieces(&big[..1024 * 1024], 50_000))
        .await
        .unwrap();
    assert_eq!(ok.scan, ScanOutcome::NotScanned);
    fs.delete(&ok.key).await.unwrap();

    let err = fs
        .put_stream("programme.exe", one(&b"MZ\x90\0"[..]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FileError::TypeNotAllowed(ref e) if e == ".exe"),
        "{err:?}"
    );
    let err = fs
        .put_stream("faux.pdf", one(&b"MZ\x90\0 not a pdf"[..]))
        .await
        .unwrap_err();
    assert!(matches!(err, FileError::ContentMismatch("pdf")), "{err:?}");
    let err = fs
        .put_stream(
            "vide.txt",
            stream::iter(Vec::<Result<Bytes, std::io::Error>>::new()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FileError::Empty), "{err:?}");
    let interrupted = stream::iter(vec![
        Ok(Bytes::from(sample_pdf(200_000))),
        Err(std::io::Error::other("connexion perdue")),
    ]);
    let err = fs.put_stream("coupé.pdf", interrupted).await.unwrap_err();
    assert!(matches!(err, FileError::Upload(_)), "{err:?}");
    // Give the staging-file cleanup (spawn_blocking) a moment, then check the directory.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        files_on_disk(&dir.0).is_empty(),
        "{:?}",
        files_on_disk(&dir.0)
    );
}

#[tokio::test]
async fn tampered_or_truncated_ciphertext_is_an_error_never_garbage() {
    let dir = Dir::new();
    let fs = store_with(&dir.0, None, files::DEFAULT_MAX_BYTES).await;
    let pdf = sample_pdf(500_000);
    let stored = fs.put_stream("pv.pdf", one(pdf.clone())).await.unwrap();
    let path = dir.0.join(&stored.key);
    let original = std::fs::read(&path).unwrap();

    // A flipped bit in the middle: the pieces before it are authentic, then the stream errors.
    let mut bad = original.clone();
    bad[300_000] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    let mut s = fs.open(&stored.key).await.unwrap();
    let mut got = Vec::new();
    let mut failed = false;
    while let Some(piece) = s.next().await {
        match piece {
            Ok(b) => got.extend_from_slice(&b),
            Err(e) => {
                assert!(matches!(e, FileError::Crypto(_)), "{e:?}");
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "tampering detected");
    assert!(
        got.len() < 300_000 && pdf.starts_with(&got),
        "only authentic plaintext was yielded"
    );

    // Header tampered: refused before anything is yielded. Truncated: error at the end.
    let mut bad = original.clone();
    bad[30] ^= 0x80;
    std::fs::write(&path, &bad).unwrap();
    assert!(matches!(
        fs.open(&stored.key).await,
        Err(FileError::Crypto(_))
    ));
    std::fs::write(&path, &original[..original.len() - 100]).unwrap();
    assert!(fs.read_all(&stored.key).await.is_err());
    // Another master key cannot read it.
    std::fs::write(&path, &original).unwrap();
    let other =
        FileStore::local(&dir.0, Keyring::random(), None, files::DEFAULT_MAX_BYTES).unwrap();
    assert!(other.read_all(&stored.key).await.is_err());
    assert_eq!(fs.read_all(&stored.key).await.unwrap(), pdf);
}

/// A 1 GB-class upload in a test-sized variant: 200 MB generated on the fly against the 1 GiB limit; the resident
/// memory must stay flat (the file is never held whole), and the stream reads back to the same SHA-256.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_stream_is_stored_and_read_back_in_bounded_memory() {
    const TOTAL: usize = 200 * 1024 * 1024;
    const PIECE: usize = 256 * 1024;
    let dir = Dir::new();
    let fs = store_with(&dir.0, None, files::DEFAULT_MAX_BYTES).await;
    let started = std::time::Instant::now();
    let base = rss_bytes();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(base));
    // Pieces are made lazily from one template (never all in memory); each differs by a counter.
    let template = Bytes::from(sample_pdf(PIECE));
    let piece = move |i: usize| {
        let mut t = template.to_vec();
        t[16..24].copy_from_slice(&(i as u64).to_le_bytes());
        t
    };
    let n = TOTAL / PIECE;
    let mut expected = Sha256::new();
    for i in 0..n {
        expected.update(piece(i));
    }
    let expected = hex::encode(expected.finalize());
    let hashed = started.elapsed();
    let peak2 = peak.clone();
    let gen = stream::iter(0..n).map(move |i| {
        peak2.fetch_max(rss_bytes(), std::sync::atomic::Ordering::Relaxed);
        Ok::<_, std::io::Error>(Bytes::from(piece(i)))
    });
    let stored = fs.put_stream("enregistrement.pdf", gen).await.unwrap();
    assert_eq!(stored.size, TOTAL as u64);
    assert_eq!(stored.sha256, expected);

    let mut s = fs.open(&stored.key).await.unwrap();
    let mut h = Sha256::new();
    let mut read = 0usize;
    while let Some(b) = s.next().await {
        let b = b.unwrap();
        read += b.len();
        h.update(&b);
        peak.fetch_max(rss_bytes(), std::sync::atomic::Ordering::Relaxed);
    }
    assert_eq!(read, TOTAL);
    assert_eq!(hex::encode(h.finalize()), expected);
    let growth = peak
        .load(std::sync::atomic::Ordering::Relaxed)
        .saturating_sub(base);
    eprintln!(
        "200 MB (hash {:?}) round trip in {:?}, RSS growth {} MiB",
        hashed,
        started.elapsed(),
        growth / (1024 * 1024)
    );
    assert!(
        growth < 64 * 1024 * 1024,
        "RSS grew by {} MiB",
        growth / (1024 * 1024)
    );
    assert!(
        started.elapsed().as_secs() < 60,
        "too slow: {:?}",
        started.elapsed()
    );
}
