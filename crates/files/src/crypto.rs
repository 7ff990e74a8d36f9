//! Encryption at rest: a per-file random key (DEK) wrapped by the master key, and the file encrypted in 64 KiB
//! chunks with XChaCha20-Poly1305 in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): each
//! chunk's nonce is a random per-file prefix, the chunk counter and a "last chunk" flag, and every chunk
//! authenticates the header as associated data. Reordered, truncated, extended or altered ciphertext fails to
//! decrypt; a reader only ever sees authenticated plaintext.
//!
//! Object layout (version 1):
//!
//! ```text
//! magic "PSLFENC1" (8) | master key id (8) | chunk size u32 BE (4) | wrap nonce (24) | wrapped DEK (32 + 16)
//!   | stream nonce prefix (19) | chunk 0 | chunk 1 | … | last chunk
//! chunk i = XChaCha20-Poly1305(DEK, nonce = prefix ‖ i as u32 BE ‖ last flag, aad = header)(plaintext ≤ 64 KiB)
//! ```
//!
//! The master key id lets a rotation keep older keys for reading: the keyring's first key encrypts new files, all
//! of its keys decrypt, and `FileStore::reencrypt` moves a file to the first key.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const MAGIC: &[u8; 8] = b"PSLFENC1";
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
pub const TAG: usize = 16;
const PREFIX: usize = 19;
pub const HEADER_LEN: usize = 8 + 8 + 4 + 24 + 32 + TAG + PREFIX;

pub const KEY_ENV: &str = "PASSERELLE_ENCRYPTION_KEY";
pub const KEY_FILE: &str = "encryption.key";
/// Older master keys, still read (comma- or space-separated base64), during and until the end of a rotation.
pub const OLD_KEYS_ENV: &str = "PASSERELLE_ENCRYPTION_OLD_KEYS";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("variable d'environnement {KEY_ENV} invalide : 32 octets encodés en base64 attendus")]
    BadEnv,
    #[error("variable d'environnement {KEY_ENV} obligatoire avec `serve` (32 octets aléatoires en base64)")]
    Missing,
    #[error("variable d'environnement {OLD_KEYS_ENV} invalide : clés de 32 octets encodées en base64, séparées par des virgules, attendues")]
    BadOldKeys,
    #[error("fichier de clé {0} invalide : 32 octets encodés en base64 attendus")]
    BadFile(String),
    #[error("fichier de clé {path} illisible ou impossible à créer : {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Clone)]
struct MasterKey {
    id: [u8; 8],
    cipher: XChaCha20Poly1305,
}

/// The master key(s). The first one encrypts; all of them decrypt (by key id), so that a rotation can go on while
/// older files are still read.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.keys.iter().map(|k| hex::encode(k.id)).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

fn decode_key(s: &str) -> Option<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()?;
    bytes.try_into().ok()
}

impl Keyring {
    pub fn from_key(key: [u8; 32]) -> Keyring {
        Keyring::from_keys(key, &[])
    }

    /// `current` encrypts new files; `current` and `older` decrypt.
    pub fn from_keys(current: [u8; 32], older: &[[u8; 32]]) -> Keyring {
        let master = |key: &[u8; 32]| MasterKey {
            id: Sha256::new()
                .chain_update(b"passerelle files master key id\0")
                .chain_update(key)
                .finalize()[..8]
                .try_into()
                .expect("8 bytes"),
            cipher: XChaCha20Poly1305::new(&(*key).into()),
        };
        let mut keys = vec![master(&current)];
        for k in older {
            let k = master(k);
            if !keys.iter().any(|x| x.id == k.id) {
                keys.push(k);
            }
        }
        Keyring { keys }
    }

    /// The id (hex) of the key new files are encrypted with; not secret (a hash prefix of the key).
    pub fn current_id(&self) -> String {
        hex::encode(self.current().id)
    }

    /// Whether `id` is the key new files are encrypted with.
    pub fn is_current(&self, id: &[u8]) -> bool {
        self.current().id == id
    }

    /// The older keys from `PASSERELLE_ENCRYPTION_OLD_KEYS`.
    fn old_keys_from_env() -> Result<Vec<[u8; 32]>, KeyError> {
        match std::env::var(OLD_KEYS_ENV).ok() {
            None => Ok(vec![]),
            Some(v) => v
                .split([',', ' ', '\n'])
                .filter(|s| !s.trim().is_empty())
                .map(|s| decode_key(s).ok_or(KeyError::BadOldKeys))
                .collect(),
        }
    }

    /// A random key (tests).
    pub fn random() -> Keyring {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Keyring::from_key(key)
    }

    /// The master key from `PASSERELLE_ENCRYPTION_KEY` (base64 of 32 bytes). Without it: in demo mode, the key
    /// kept in `<data_dir>/encryption.key` (created with mode 0600 on first start); in production, an error.
    pub fn load_or_create(data_dir: &Path, demo: bool) -> Result<Keyring, KeyError> {
        let older = Keyring::old_keys_from_env()?;
        if let Some(v) = std::env::var(KEY_ENV).ok().filter(|v| !v.trim().is_empty()) {
            return decode_key(&v)
                .map(|k| Keyring::from_keys(k, &older))
                .ok_or(KeyError::BadEnv);
        }
        if !demo {
            return Err(KeyError::Missing);
        }
        let path = data_dir.join(KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(s) => decode_key(&s)
                .map(|k| Keyring::from_keys(k, &older))
                .ok_or_else(|| KeyError::BadFile(path.display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io)?;
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(&path).map_err(io)?;
                let text = base64::engine::general_purpose::STANDARD.encode(key);
                writeln!(f, "{text}").map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(Keyring::from_key(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypts a small secret (e.g. a TOTP seed) for a database column: base64 of key id (8) | nonce (24) |
    /// ciphertext and tag. `context` (e.g. "totp:<user id>") is authenticated, so a value copied to another row
    /// does not decrypt there.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let key = self.current();
        let mut n = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut n);
        let ct = key
            .cipher
            .encrypt(
                &n.into(),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of a small value cannot fail");
        let mut out = Vec::with_capacity(8 + 24 + ct.len());
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&n);
        out.extend_from_slice(&ct);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// Decrypts what [`Keyring::seal`] made with the same `context`; None when altered, moved or of another key.
    pub fn open(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed.trim())
            .ok()?;
        if raw.len() < 8 + 24 + 16 {
            return None;
        }
        let key = self.find(&raw[..8])?;
        let n: [u8; 24] = raw[8..32].try_into().ok()?;
        key.cipher
            .decrypt(
                &n.into(),
                Payload {
                    msg: &raw[32..],
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }

    fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    fn find(&self, id: &[u8]) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("en-tête de chiffrement invalide")]
    BadHeader,
    #[error("clé maîtresse inconnue pour ce fichier")]
    UnknownKey,
    #[error("intégrité du fichier non vérifiée (bloc {0} altéré, tronqué ou réordonné)")]
    Corrupt(u32),
}

fn nonce(prefix: &[u8; PREFIX], counter: u32, last: bool) -> XNonce {
    let mut n = [0u8; 24];
    n[..PREFIX].copy_from_slice(prefix);
    n[PREFIX..PREFIX + 4].copy_from_slice(&counter.to_be_bytes());
    n[23] = last as u8;
    n.into()
}

/// Encrypts a plaintext pushed in pieces of any size; emits whole ciphertext chunks.
pub struct Encryptor {
    cipher: XChaCha20Poly1305,
    header: Vec<u8>,
    prefix: [u8; PREFIX],
    counter: u32,
    buf: Vec<u8>,
}

impl Encryptor {
    pub fn new(keyring: &Keyring) -> Encryptor {
        let mut rng = rand::rngs::OsRng;
        let mut dek = [0u8; 32];
        rng.fill_bytes(&mut dek);
        let mut wrap_nonce = [0u8; 24];
        rng.fill_bytes(&mut wrap_nonce);
        let mut prefix = [0u8; PREFIX];
        rng.fill_bytes(&mut prefix);
        let mk = keyring.current();
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&mk.id);
        header.extend_from_slice(&(CHUNK as u32).to_be_bytes());
        let wrapped = mk
            .cipher
            .encrypt(
                &wrap_nonce.into(),
                Payload {
                    msg: &dek,
                    aad: &header,
                },
            )
            .expect("encrypting 32 bytes cannot fail");
        header.extend_from_slice(&wrap_nonce);
        header.extend_from_slice(&wrapped);
        header.extend_from_slice(&prefix);
        debug_assert_eq!(header.len(), HEADER_LEN);
        Encryptor {
            cipher: XChaCha20Poly1305::new(&dek.into()),
            header,
            prefix,
            counter: 0,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    /// The header, to write before the first chunk.
    pub fn header(&self) -> Bytes {
        Bytes::copy_from_slice(&self.header)
    }

    fn seal(&mut self, last: bool) -> Bytes {
        let ct = self
            .cipher
            .encrypt(
                &nonce(&self.prefix, self.counter, last),
                Payload {
                    msg: &self.buf,
                    aad: &self.header,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of a 64 KiB chunk cannot fail");
        self.counter = self
            .counter
            .checked_add(1)
            .expect("file larger than 256 TiB");
        self.buf.clear();
        Bytes::from(ct)
    }

    /// Buffers `data`; pushes every completed chunk to `out` (a full buffer is sealed only when more data comes,
    /// so the last chunk is always sealed as last).
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<Bytes>) {
        while !data.is_empty() {
            if self.buf.len() == CHUNK {
                out.push(self.seal(false));
            }
            let take = (CHUNK - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
    }

    /// Seals the last chunk.
    pub fn finish(mut self) -> Bytes {
        self.seal(true)
    }
}

/// Decrypts ciphertext pushed in pieces of any size.
pub struct Decryptor {
    state: Option<(XChaCha20Poly1305, Vec<u8>, [u8; PREFIX], usize)>,
    counter: u32,
    buf: BytesMut,
}

impl Decryptor {
    pub fn new() -> Decryptor {
        Decryptor {
            state: None,
            counter: 0,
            buf: BytesMut::new(),
        }
    }

    fn parse_header(&mut self, keyring: &Keyring) -> Result<(), CryptoError> {
        let h = self.buf.split_to(HEADER_LEN);
        if &h[..8] != MAGIC {
            return Err(CryptoError::BadHeader);
        }
        let chunk = u32::from_be_bytes(h[16..20].try_into().expect("4 bytes")) as usize;
        if chunk == 0 || chunk > 16 * 1024 * 1024 {
            return Err(CryptoError::BadHeader);
        }
        let mk = keyring.find(&h[8..16]).ok_or(CryptoError::UnknownKey)?;
        let wrap_nonce: [u8; 24] = h[20..44].try_into().expect("24 bytes");
        let dek = mk
            .cipher
            .decrypt(
                &wrap_nonce.into(),
                Payload {
                    msg: &h[44..44 + 32 + TAG],
                    aad: &h[..20],
                },
            )
            .map_err(|_| CryptoError::BadHeader)?;
        let dek: [u8; 32] = dek.try_into().map_err(|_| CryptoError::BadHeader)?;
        let prefix: [u8; PREFIX] = h[44 + 32 + TAG..].try_into().expect("19 bytes");
        self.state = Some((
            XChaCha20Poly1305::new(&dek.into()),
            h.to_vec(),
            prefix,
            chunk,
        ));
        Ok(())
    }

    fn open(&mut self, len: usize, last: bool) -> Result<Bytes, CryptoError> {
        let (cipher, header, prefix, _) = self.state.as_ref().ok_or(CryptoError::BadHeader)?;
        let ct = self.buf.split_to(len);
        let pt = cipher
            .decrypt(
                &nonce(prefix, self.counter, last),
                Payload {
                    msg: &ct,
                    aad: header,
                },
            )
            .map_err(|_| CryptoError::Corrupt(self.counter))?;
        self.counter = self.counter.wrapping_add(1);
        Ok(Bytes::from(pt))
    }

    /// Adds ciphertext; returns the plaintext chunks now known not to be the last one.
    pub fn push(&mut self, data: &[u8], keyring: &Keyring) -> Result<Vec<Bytes>, CryptoError> {
        self.buf.extend_from_slice(data);
        if self.state.is_none() {
            if self.buf.len() < HEADER_LEN {
                return Ok(vec![]);
            }
            self.parse_header(keyring)?;
        }
        let ct_chunk = self.state.as_ref().expect("header parsed").3 + TAG;
        let mut out = vec![];
        // Strictly more than one chunk buffered: the first one cannot be the last.
        while self.buf.len() > ct_chunk {
            out.push(self.open(ct_chunk, false)?);
        }
        Ok(out)
    }

    /// End of the ciphertext: the remaining bytes must be exactly the authenticated last chunk.
    pub fn finish(mut self) -> Result<Bytes, CryptoError> {
        if self.state.is_none() || self.buf.len() < TAG {
            return Err(if self.state.is_none() {
                CryptoError::BadHeader
            } else {
                CryptoError::Corrupt(self.counter)
            });
        }
        let len = self.buf.len();
        self.open(len, true)
    }
}

impl Default for Decryptor {
    fn default() -> Self {
        Decryptor::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encrypt(k: &Keyring, pt: &[u8], piece: usize) -> Vec<u8> {
        let mut e = Encryptor::new(k);
        let mut out = vec![e.header()];
        for p in pt.chunks(piece.max(1)) {
            e.push(p, &mut out);
        }
        out.push(e.finish());
        out.concat()
    }

    fn decrypt(k: &Keyring, ct: &[u8], piece: usize) -> Result<Vec<u8>, CryptoError> {
        let mut d = Decryptor::new();
        let mut out = vec![];
        for p in ct.chunks(piece.max(1)) {
            out.extend(d.push(p, k)?);
        }
        out.push(d.finish()?);
        Ok(out.concat())
    }

    #[test]
    fn round_trips_at_chunk_boundaries_whatever_the_piece_sizes() {
        let k = Keyring::random();
        for len in [
            1,
            100,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK,
            3 * CHUNK + 7,
        ] {
            let pt: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            for piece in [1000, 8192, CHUNK + 5] {
                let ct = encrypt(&k, &pt, piece);
                assert_eq!(
                    ct.len(),
                    HEADER_LEN + len + len.div_ceil(CHUNK).max(1) * TAG
                );
                assert_ne!(
                    &ct[HEADER_LEN..HEADER_LEN + len.min(64)],
                    &pt[..len.min(64)]
                );
                assert_eq!(
                    decrypt(&k, &ct, 7777).unwrap(),
                    pt,
                    "len {len} piece {piece}"
                );
            }
        }
    }

    #[test]
    fn tampering_truncation_and_wrong_keys_are_detected() {
        let k = Keyring::random();
        let pt = vec![42u8; 2 * CHUNK + 10];
        let ct = encrypt(&k, &pt, 4096);
        for pos in [
            3,
            20,
            50,
            HEADER_LEN + 5,
            HEADER_LEN + CHUNK + TAG + 1,
            ct.len() - 1,
        ] {
            let mut bad = ct.clone();
            bad[pos] ^= 1;
            assert!(decrypt(&k, &bad, 5000).is_err(), "flip at {pos}");
        }
        // Dropping the last chunk (truncation at a chunk boundary) or adding bytes fails.
        let cut = HEADER_LEN + 2 * (CHUNK + TAG);
        assert!(decrypt(&k, &ct[..cut], 5000).is_err());
        let mut longer = ct.clone();
        longer.extend_from_slice(&[0u8; 20]);
        assert!(decrypt(&k, &longer, 5000).is_err());
        assert!(matches!(
            decrypt(&Keyring::random(), &ct, 5000),
            Err(CryptoError::UnknownKey)
        ));
        assert!(decrypt(&k, &ct[..10], 5000).is_err());
    }

    #[test]
    fn demo_key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("files-key-{}", uuid::Uuid::new_v4()));
        // The env var wins when set; this test relies on it being unset in the test environment.
        if std::env::var(KEY_ENV).is_ok() {
            return;
        }
        assert!(matches!(
            Keyring::load_or_create(&dir, false),
            Err(KeyError::Missing)
        ));
        let a = Keyring::load_or_create(&dir, true).unwrap();
        let b = Keyring::load_or_create(&dir, true).unwrap();
        assert_eq!(a.keys[0].id, b.keys[0].id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod bench {
    use super::*;
    #[test]
    #[ignore]
    fn bench_encrypt_decrypt_32mb() {
        let k = Keyring::random();
        let pt = vec![7u8; 32 << 20];
        let t = std::time::Instant::now();
        let mut e = Encryptor::new(&k);
        let e_header = e.header();
        let mut out = vec![];
        e.push(&pt, &mut out);
        out.push(e.finish());
        eprintln!("encrypt 32MB: {:?}", t.elapsed());
        let ct: Vec<u8> = [vec![e_header], out].concat().concat();
        let t = std::time::Instant::now();
        let mut d = Decryptor::new();
        let n: usize = d.push(&ct, &k).unwrap().iter().map(|b| b.len()).sum();
        eprintln!("decrypt 32MB: {:?} {n}", t.elapsed());
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let k = Keyring::random();
        let sealed = k.seal(b"JBSWY3DPEHPK3PXP", "totp:u1");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            k.open(&sealed, "totp:u1").as_deref(),
            Some(&b"JBSWY3DPEHPK3PXP"[..])
        );
        assert_eq!(k.open(&sealed, "totp:u2"), None);
        assert_eq!(Keyring::random().open(&sealed, "totp:u1"), None);
        assert_eq!(k.open("JBSWY3DPEHPK3PXP", "totp:u1"), None);
    }
}
