//! Attachments' bytes: streamed, never held whole in memory. One pass over the upload does everything at once:
//! size limit, type allow-list (extension + leading bytes), SHA-256 of the plaintext, antivirus (clamd INSTREAM,
//! fed the same chunks) and encryption at rest (see [`crypto`]) into an `object_store` multipart upload. The
//! object is committed only when the whole stream is accepted and clamd said "OK"; on any refusal the upload is
//! aborted, so nothing is kept (a local directory's staging file is removed, an S3 multipart upload is aborted).
//!
//! Without a configured clamd (demo mode only), files are stored with [`ScanOutcome::NotScanned`], which the web
//! layer shows as a warning: never silently "clean".

pub mod clamd;
pub mod crypto;
pub mod kinds;
pub mod testing;

use std::path::Path;
use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use sha2::{Digest, Sha256};

pub use clamd::{Clamd, ClamdAddr, ClamdError, Verdict};
pub use crypto::{CryptoError, KeyError, Keyring};
pub use kinds::{allowed_extensions, kind_of, Kind};

/// 1 GiB: the default and the largest size accepted (the metadata layer refuses more).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
pub const MAX_ENV: &str = "PASSERELLE_MAX_UPLOAD_MB";

/// Bytes buffered per object-store part (S3 needs ≥ 5 MiB parts); at most two parts in flight.
const PART_SIZE: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    Clean,
    /// No antivirus configured (demo mode): shown as a warning.
    NotScanned,
}

/// What was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// Object key, to record in the metadata (`storage_key`).
    pub key: String,
    /// The cleaned file name.
    pub filename: String,
    /// From the allow-list, not from the client.
    pub content_type: &'static str,
    pub size: u64,
    /// Lower-case hex SHA-256 of the plaintext.
    pub sha256: String,
    pub scan: ScanOutcome,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("Le fichier dépasse la taille maximale de {}.", human_size(*max))]
    TooLarge { max: u64 },
    #[error("Le fichier est vide.")]
    Empty,
    #[error("Nom de fichier invalide : 1 à 255 caractères, sans / ni \\.")]
    BadName,
    #[error("Type de fichier non accepté ({0}). Formats acceptés : PDF, documents bureautiques, images, texte, archives ZIP, courriels (eml, msg), audio et vidéo courants.")]
    TypeNotAllowed(String),
    #[error("Le contenu du fichier ne correspond pas à son extension « .{0} ».")]
    ContentMismatch(&'static str),
    /// Nothing was kept; the checksum and size of what was refused are given for the record.
    #[error("Fichier refusé : un virus a été détecté ({signature}).")]
    Infected {
        signature: String,
        filename: String,
        sha256: String,
        size: u64,
    },
    #[error("L'analyse antivirus n'a pas pu être faite ; le fichier n'a pas été enregistré. Réessayez plus tard. ({0})")]
    ScanFailed(#[from] ClamdError),
    #[error("L'envoi du fichier a été interrompu : {0}")]
    Upload(String),
    #[error("Stockage des fichiers indisponible : {0}")]
    Storage(#[from] object_store::Error),
    #[error("Fichier illisible : {0}")]
    Crypto(#[from] CryptoError),
}

impl FileError {
    /// Refusals caused by the file itself (422/413 for a user), as opposed to infrastructure failures.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            FileError::TooLarge { .. }
                | FileError::Empty
                | FileError::BadName
                | FileError::TypeNotAllowed(_)
                | FileError::ContentMismatch(_)
                | FileError::Infected { .. }
        )
    }
}

/// "1 Go", "200 Mo", "512 Ko".
pub fn human_size(n: u64) -> String {
    const K: u64 = 1024;
    if n >= K * K * K && n.is_multiple_of(K * K * K) {
        format!("{} Go", n / (K * K * K))
    } else if n >= K * K {
        format!("{} Mo", n.div_ceil(K * K))
    } else if n >= K {
        format!("{} Ko", n.div_ceil(K))
    } else {
        format!("{n} octets")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("variable d'environnement {var} invalide : {reason}")]
    Var { var: &'static str, reason: String },
    #[error("dossier des pièces jointes {path} inutilisable : {reason}")]
    Dir { path: String, reason: String },
}

pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    keyring: Keyring,
    scanner: Option<Clamd>,
    max_bytes: u64,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("store", &self.store.to_string())
            .field(
                "scanner",
                &self.scanner.as_ref().map(|c| c.addr.to_string()),
            )
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

/// Keeps only the last path component, trims, and refuses control characters.
pub fn clean_filename(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let ok = !base.is_empty()
        && base.chars().count() <= 255
        && !base.chars().any(char::is_control)
        && base != "."
        && base != "..";
    ok.then(|| base.to_string())
}

impl FileStore {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        keyring: Keyring,
        scanner: Option<Clamd>,
        max_bytes: u64,
    ) -> FileStore {
        FileStore {
            store,
            keyring,
            scanner,
            max_bytes,
        }
    }

    /// Objects under a local directory (created if missing).
    pub fn local(
        dir: &Path,
        keyring: Keyring,
        scanner: Option<Clamd>,
        max_bytes: u64,
    ) -> Result<FileStore, ConfigError> {
        let err = |reason: String| ConfigError::Dir {
            path: dir.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| err(e.to_string()))?;
        Ok(FileStore::new(Arc::new(fs), keyring, scanner, max_bytes))
    }

    /// From the environment: `PASSERELLE_ENCRYPTION_KEY` (see [`Keyring::load_or_create`]), `PASSERELLE_CLAMD`
    /// (`tcp://host:port` or `unix:///path`; required unless `demo`), `PASSERELLE_MAX_UPLOAD_MB` (default and
    /// maximum 1024). Objects go to `<data_dir>/files`.
    pub fn from_env(data_dir: &Path, demo: bool) -> Result<FileStore, ConfigError> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let keyring = Keyring::load_or_create(data_dir, demo)?;
        let scanner = match var(clamd::CLAMD_ENV) {
            Some(v) => Some(Clamd::new(ClamdAddr::parse(&v).map_err(|reason| {
                ConfigError::Var {
                    var: clamd::CLAMD_ENV,
                    reason,
                }
            })?)),
            None if demo => None,
            None => {
                return Err(ConfigError::Var {
                    var: clamd::CLAMD_ENV,
                    reason:
                        "obligatoire avec `serve` : les pièces jointes sont analysées par clamd"
                            .into(),
                })
            }
        };
        let max_bytes = match var(MAX_ENV) {
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|mb| (1..=1024).contains(mb))
                .map(|mb| mb * 1024 * 1024)
                .ok_or(ConfigError::Var {
                    var: MAX_ENV,
                    reason: "nombre de mégaoctets entre 1 et 1024 attendu".into(),
                })?,
            None => DEFAULT_MAX_BYTES,
        };
        FileStore::local(&data_dir.join("files"), keyring, scanner, max_bytes)
    }

    /// The master key(s), also used for small secrets kept in the database (TOTP seeds).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Whether uploads are scanned by clamd.
    pub fn scanning(&self) -> bool {
        self.scanner.is_some()
    }

    pub fn scanner(&self) -> Option<&Clamd> {
        self.scanner.as_ref()
    }

    /// The underlying object store (tests, operations).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Streams a file in: checks, hashes, scans, encrypts and stores it in one pass; nothing is kept unless it
    /// is accepted. `stream` yields the plaintext in pieces of any size (an axum multipart field, a request body).
    pub async fn put_stream<S, B, E>(
        &self,
        filename: &str,
        stream: S,
    ) -> Result<StoredFile, FileError>
    where
        S: Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let filename = clean_filename(filename).ok_or(FileError::BadName)?;
        let kind = kind_of(&filename).ok_or_else(|| {
            FileError::TypeNotAllowed(match filename.rsplit_once('.') {
                Some((_, ext)) => format!(".{}", ext.to_lowercase()),
                None => "sans extension".into(),
            })
        })?;
        let mut scan = match &self.scanner {
            Some(c) => Some(c.instream().await?),
            None => None,
        };
        let key = format!("attachments/{}", uuid::Uuid::new_v4().simple());
        let location = ObjectPath::from(key.as_str());
        let upload = self.store.put_multipart(&location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);

        let result = self.pump(stream, kind, &mut scan, &mut writer).await;
        let (size, sha256) = match result {
            Ok(v) => v,
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, key, "aborting a refused upload failed");
                }
                return Err(e);
            }
        };
        let verdict = match scan {
            Some(s) => Some(s.finish().await),
            None => None,
        };
        let outcome = match verdict {
            None => ScanOutcome::NotScanned,
            Some(Ok(Verdict::Clean)) => ScanOutcome::Clean,
            Some(other) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, key, "aborting a refused upload failed");
                }
                return Err(match other {
                    Ok(Verdict::Infected(signature)) => {
                        tracing::warn!(key, sha256, signature = %signature, "infected upload refused");
                        FileError::Infected {
                            signature,
                            filename,
                            sha256,
                            size,
                        }
                    }
                    Err(e) => FileError::ScanFailed(e),
                    Ok(Verdict::Clean) => unreachable!("handled above"),
                });
            }
        };
        writer.finish().await?;
        Ok(StoredFile {
            key,
            filename,
            content_type: kind.content_type,
            size,
            sha256,
            scan: outcome,
        })
    }

    async fn pump<S, B, E>(
        &self,
        stream: S,
        kind: Kind,
        scan: &mut Option<clamd::Scan>,
        writer: &mut WriteMultipart,
    ) -> Result<(u64, String), FileError>
    where
        S: Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let mut stream = pin!(stream);
        let mut enc = crypto::Encryptor::new(&self.keyring);
        writer.write(&enc.header());
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(kinds::SNIFF_LEN);
        let mut sniffed = false;
        let mut out = Vec::new();
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|e| FileError::Upload(e.to_string()))?;
            let data = piece.as_ref();
            if data.is_empty() {
                continue;
            }
            size += data.len() as u64;
            if size > self.max_bytes {
                return Err(FileError::TooLarge {
                    max: self.max_bytes,
                });
            }
            if !sniffed {
                let take = (kinds::SNIFF_LEN - head.len()).min(data.len());
                head.extend_from_slice(&data[..take]);
                if head.len() == kinds::SNIFF_LEN {
                    sniffed = true;
                    if !kind.check_magic(&head) {
                        return Err(FileError::ContentMismatch(kind.extension));
                    }
                }
            }
            hasher.update(data);
            if let Some(s) = scan.as_mut() {
                s.send(data).await?;
            }
            enc.push(data, &mut out);
            for c in out.drain(..) {
                writer.put(c);
            }
            writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        }
        if size == 0 {
            return Err(FileError::Empty);
        }
        if !sniffed && !kind.check_magic(&head) {
            return Err(FileError::ContentMismatch(kind.extension));
        }
        writer.put(enc.finish());
        Ok((size, hex::encode(hasher.finalize())))
    }

    /// The decrypted content, streamed; every piece is authenticated before it is yielded, and a tampered or
    /// truncated object ends the stream with an error. Fails at once when the object is missing or its header
    /// is unreadable.
    pub async fn open(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, FileError>>, FileError> {
        let got = self.store.get(&ObjectPath::from(key)).await?;
        let inner = got.into_stream();
        let keyring = self.keyring.clone();
        struct St {
            inner: BoxStream<'static, object_store::Result<Bytes>>,
            dec: Option<crypto::Decryptor>,
            ready: std::collections::VecDeque<Bytes>,
            keyring: Keyring,
        }
        let st = St {
            inner,
            dec: Some(crypto::Decryptor::new()),
            ready: Default::default(),
            keyring,
        };
        let stream = futures::stream::unfold(st, |mut st| async move {
            loop {
                if let Some(b) = st.ready.pop_front() {
                    return Some((Ok(b), st));
                }
                let dec = st.dec.as_mut()?;
                match st.inner.next().await {
                    Some(Ok(bytes)) => match dec.push(&bytes, &st.keyring) {
                        Ok(chunks) => st.ready.extend(chunks),
                        Err(e) => {
                            st.dec = None;
                            return Some((Err(FileError::Crypto(e)), st));
                        }
                    },
                    Some(Err(e)) => {
                        st.dec = None;
                        return Some((Err(FileError::Storage(e)), st));
                    }
                    None => {
                        let dec = st.dec.take().expect("checked above");
                        match dec.finish() {
                            Ok(last) => {
                                if !last.is_empty() {
                                    st.ready.push_back(last)
                                }
                            }
                            Err(e) => return Some((Err(FileError::Crypto(e)), st)),
                        }
                    }
                }
            }
        });
        // Read ahead to the first authenticated piece, so that an unreadable object is an error before any
        // response is sent.
        let mut stream = stream.boxed();
        match stream.next().await {
            Some(Ok(first)) => Ok(futures::stream::once(async { Ok(first) })
                .chain(stream)
                .boxed()),
            Some(Err(e)) => Err(e),
            None => Ok(futures::stream::empty().boxed()),
        }
    }

    /// The id (hex) of the master key an object is encrypted with, read from its header.
    pub async fn key_id_of(&self, key: &str) -> Result<String, FileError> {
        let head = self.store.get_range(&ObjectPath::from(key), 0..16).await?;
        if head.len() < 16 || &head[..8] != crypto::MAGIC {
            return Err(FileError::Crypto(CryptoError::BadHeader));
        }
        Ok(hex::encode(&head[8..16]))
    }

    /// Key rotation, one object: when it is encrypted under an older key of the keyring, decrypts and encrypts it
    /// again under the current key, streamed (memory stays flat), and replaces it under the same key at the end
    /// (the object store's multipart completion is atomic: readers see the old or the new object, never a mix).
    /// Returns whether it was rewritten; an object already under the current key is left alone.
    pub async fn reencrypt(&self, key: &str) -> Result<bool, FileError> {
        let id = hex::decode(self.key_id_of(key).await?).expect("hex we made");
        if self.keyring.is_current(&id) {
            return Ok(false);
        }
        let mut plain = self.open(key).await?;
        let location = ObjectPath::from(key);
        let upload = self.store.put_multipart(&location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut enc = crypto::Encryptor::new(&self.keyring);
        writer.write(&enc.header());
        let mut out = Vec::new();
        let result: Result<(), FileError> = async {
            while let Some(piece) = plain.next().await {
                enc.push(&piece?, &mut out);
                for c in out.drain(..) {
                    writer.put(c);
                }
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, key, "aborting a re-encryption failed");
            }
            return Err(e);
        }
        writer.put(enc.finish());
        writer.finish().await?;
        Ok(true)
    }

    /// The id (hex) of the key new files are encrypted with.
    pub fn current_key_id(&self) -> String {
        self.keyring.current_id()
    }

    /// Reads a whole (small) file into memory: tests and small documents only.
    pub async fn read_all(&self, key: &str) -> Result<Vec<u8>, FileError> {
        let mut s = self.open(key).await?;
        let mut out = Vec::new();
        while let Some(b) = s.next().await {
            out.extend_from_slice(&b?);
        }
        Ok(out)
    }

    pub async fn delete(&self, key: &str) -> Result<(), FileError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, FileError> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object key (tests, operations: compare with the metadata).
    pub async fn keys(&self) -> Result<Vec<String>, FileError> {
        let mut out = Vec::new();
        let mut list = self.store.list(None);
        while let Some(m) = list.next().await {
            out.push(m?.location.to_string());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_sizes_said_in_french() {
        assert_eq!(
            clean_filename("C:\\Users\\x\\PV.pdf").as_deref(),
            Some("PV.pdf")
        );
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(clean_filename("  "), None);
        assert_eq!(clean_filename("a\nb.pdf"), None);
        assert_eq!(human_size(1 << 30), "1 Go");
        assert_eq!(human_size(200 * 1024 * 1024), "200 Mo");
        assert_eq!(human_size(1000), "1000 octets");
    }
}
