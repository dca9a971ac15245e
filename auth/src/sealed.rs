//! CA private keys at rest: never in storage in clear. The cluster's CA keys are stored as one
//! record, sealed with AES-256-GCM under a key-encryption key (KEK) the operator holds; the
//! record's storage key and the cluster's name are the associated data, so a sealed record means
//! nothing under another key or in another cluster.
//!
//! The KEK is 32 random bytes, written in base64, and comes from (first found):
//! 1. the environment variable [`KEK_ENV`] (`TETHER_CA_KEK`);
//! 2. the file `auth_service.ca_key_params.key_file`;
//! 3. `DATA_DIR/ca.kek` ([`DEFAULT_KEK_FILE`]), which a cluster that has no sealed keys yet
//!    generates (mode 0600) and names in its log, so that the operator backs it up.
//!
//! Every auth host of a cluster needs the same KEK. A KEK that does not open the stored keys
//! stops start-up with one line ([`SealError::WrongKey`]); a missing one likewise
//! ([`SealError::NoKey`]).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use russh::keys::ssh_encoding::base64::{Base64, Encoding};
use zeroize::Zeroizing;

/// The environment variable holding the KEK (base64 of 32 bytes).
pub const KEK_ENV: &str = "TETHER_CA_KEK";
/// The KEK file a cluster generates in its data dir when none is configured.
pub const DEFAULT_KEK_FILE: &str = "ca.kek";
/// What a sealed value starts with (a format version, so that another can follow).
const MAGIC: &[u8] = b"tether-sealed-v1\n";

/// Why the CA keys could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// No KEK where one must be.
    #[error(
        "the CA keys in storage are sealed, and no key-encryption key was given: set {KEK_ENV}, or \
         auth_service.ca_key_params.key_file, or restore {}",
        .0.display()
    )]
    NoKey(PathBuf),
    /// The KEK is not 32 bytes of base64.
    #[error(
        "the key-encryption key from {origin} is not 32 bytes in base64 (make one with `head -c 32 /dev/urandom | base64`)"
    )]
    BadKey {
        /// Where it came from.
        origin: String,
    },
    /// The KEK does not open the stored keys.
    #[error(
        "the key-encryption key from {origin} does not open the CA keys in storage: start with the key \
         this cluster's keys were sealed with (every auth host of a cluster needs the same one)"
    )]
    WrongKey {
        /// Where it came from.
        origin: String,
    },
    /// The KEK file could not be read or written (the cause is the source).
    #[error("key-encryption key file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The KEK file can be read by other users.
    #[error(
        "key-encryption key file {} can be read by every user (mode {mode:o}): chmod 600 it, or 640 for a group",
        path.display()
    )]
    OpenFile {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// No randomness, or the cipher failed.
    #[error("sealing failed: {0}")]
    Crypto(&'static str),
}

/// A key-encryption key, and where it came from (for messages).
pub struct Kek {
    key: LessSafeKey,
    origin: String,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek").field("origin", &self.origin).finish_non_exhaustive()
    }
}

impl Kek {
    /// A KEK from its 32 bytes; `origin` says where they came from.
    pub fn from_bytes(bytes: &[u8; 32], origin: impl Into<String>) -> Result<Kek, SealError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::Crypto("bad key length"))?;
        Ok(Kek { key: LessSafeKey::new(key), origin: origin.into() })
    }

    /// A KEK from its base64 text.
    pub fn from_base64(text: &str, origin: impl Into<String>) -> Result<Kek, SealError> {
        let origin = origin.into();
        let mut bytes = Zeroizing::new([0u8; 32]);
        match Base64::decode(text.trim().as_bytes(), bytes.as_mut()) {
            Ok(decoded) if decoded.len() == 32 => Kek::from_bytes(&bytes, origin),
            _ => Err(SealError::BadKey { origin }),
        }
    }

    /// Where it came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Seals `plaintext` for `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Crypto("no randomness"))?;
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut body)
            .map_err(|_| SealError::Crypto("AES-GCM"))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens what [`Kek::seal`] made for `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let wrong = || SealError::WrongKey { origin: self.origin.clone() };
        let rest = sealed.strip_prefix(MAGIC).ok_or_else(wrong)?;
        let (nonce, body) = rest.split_at_checked(NONCE_LEN).ok_or_else(wrong)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut body = Zeroizing::new(body.to_vec());
        let len = self.key.open_in_place(nonce, Aad::from(aad), body.as_mut_slice()).map_err(|_| wrong())?.len();
        body.truncate(len);
        Ok(body)
    }
}

/// Whether a stored value is sealed (else it is a key in clear, from before sealing).
pub fn is_sealed(value: &[u8]) -> bool {
    value.starts_with(MAGIC)
}

/// Where the KEK comes from.
#[derive(Debug, Clone)]
pub enum KekSource {
    /// The environment, then a configured file, then the data dir's default file.
    Configured {
        /// The value of [`KEK_ENV`], if set.
        env: Option<String>,
        /// `auth_service.ca_key_params.key_file`.
        key_file: Option<PathBuf>,
        /// `DATA_DIR/ca.kek`.
        default_file: PathBuf,
    },
    /// A key given in code (tests, embedding).
    Fixed([u8; 32]),
}

impl KekSource {
    /// The configured source for a daemon with `data_dir`, reading [`KEK_ENV`] now.
    pub fn from_environment(key_file: Option<PathBuf>, data_dir: &Path) -> KekSource {
        KekSource::Configured {
            env: std::env::var(KEK_ENV).ok().filter(|v| !v.trim().is_empty()),
            key_file,
            default_file: data_dir.join(DEFAULT_KEK_FILE),
        }
    }

    /// The KEK, which must exist already (the stored keys are sealed).
    pub fn existing(&self) -> Result<Kek, SealError> {
        match self {
            KekSource::Fixed(bytes) => Kek::from_bytes(bytes, "the given key"),
            KekSource::Configured { env: Some(text), .. } => Kek::from_base64(text, KEK_ENV),
            KekSource::Configured { key_file: Some(path), .. } => read_file(path),
            KekSource::Configured { default_file, .. } => {
                if default_file.exists() {
                    read_file(default_file)
                } else {
                    Err(SealError::NoKey(default_file.clone()))
                }
            }
        }
    }

    /// The KEK; when none is configured and the default file does not exist, a new one is
    /// generated there (0600). The path is returned when it was.
    pub fn existing_or_new(&self) -> Result<(Kek, Option<PathBuf>), SealError> {
        match self {
            KekSource::Configured { env: None, key_file: None, default_file } if !default_file.exists() => {
                let mut bytes = Zeroizing::new([0u8; 32]);
                SystemRandom::new().fill(bytes.as_mut()).map_err(|_| SealError::Crypto("no randomness"))?;
                let mut text = Zeroizing::new(vec![0u8; 64]);
                let len =
                    Base64::encode(bytes.as_ref(), text.as_mut_slice()).map_err(|_| SealError::Crypto("base64"))?.len();
                text.truncate(len);
                text.push(b'\n');
                write_new_durably(default_file, &text)?;
                Ok((Kek::from_bytes(&bytes, default_file.display().to_string())?, Some(default_file.clone())))
            }
            _ => Ok((self.existing()?, None)),
        }
    }
}

/// Writes `contents` to a new file at `path`, 0600, so that it is there whole or not at all
/// even after a crash: a temporary file, synced, linked into place (failing if `path` exists),
/// and the directory synced, before the caller seals anything with it.
fn write_new_durably(path: &Path, contents: &[u8]) -> Result<(), SealError> {
    let io = |source| SealError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let temp =
        dir.join(format!(".{}.{}", path.file_name().map_or("kek".into(), |n| n.to_string_lossy()), std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::hard_link(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    let _ = std::fs::remove_file(&temp);
    written.map_err(io)
}

fn read_file(path: &Path) -> Result<Kek, SealError> {
    let io = |source| SealError::Io { path: path.to_path_buf(), source };
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).map_err(io)?.permissions());
    if mode & 0o004 != 0 {
        return Err(SealError::OpenFile { path: path.to_path_buf(), mode: mode & 0o777 });
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
    Kek::from_base64(&text, path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_their_place() {
        let kek = Kek::from_bytes(&[7u8; 32], "test").unwrap();
        let sealed = kek.seal(b"/secrets/ca/sealed", b"-----BEGIN OPENSSH PRIVATE KEY-----").unwrap();
        assert!(is_sealed(&sealed) && !is_sealed(b"-----BEGIN"));
        assert!(!sealed.windows(5).any(|w| w == b"BEGIN"), "the plaintext shows through");
        assert_eq!(
            kek.open(b"/secrets/ca/sealed", &sealed).unwrap().as_slice(),
            b"-----BEGIN OPENSSH PRIVATE KEY-----"
        );
        let other = Kek::from_bytes(&[8u8; 32], "TETHER_CA_KEK").unwrap();
        let err = other.open(b"/secrets/ca/sealed", &sealed).unwrap_err();
        assert!(err.to_string().starts_with("the key-encryption key from TETHER_CA_KEK does not open"), "{err}");
        assert!(kek.open(b"/elsewhere", &sealed).is_err(), "sealed for another place");
        let mut flipped = sealed.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(kek.open(b"/secrets/ca/sealed", &flipped).is_err());
    }

    #[test]
    fn the_default_file_is_generated_once_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let source = KekSource::Configured { env: None, key_file: None, default_file: dir.path().join("ca.kek") };
        assert!(matches!(source.existing(), Err(SealError::NoKey(_))));
        let (kek, made) = source.existing_or_new().unwrap();
        assert_eq!(made.as_deref(), Some(dir.path().join("ca.kek").as_path()));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("ca.kek")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let sealed = kek.seal(b"a", b"secret").unwrap();
        let (again, made) = source.existing_or_new().unwrap();
        assert_eq!(made, None, "generated only once");
        assert_eq!(again.open(b"a", &sealed).unwrap().as_slice(), b"secret");
        // The environment wins over the file; a bad value is named.
        let env = KekSource::Configured {
            env: Some("bm90IDMyIGJ5dGVz".into()),
            key_file: None,
            default_file: dir.path().join("ca.kek"),
        };
        let err = env.existing().unwrap_err().to_string();
        assert!(err.starts_with("the key-encryption key from TETHER_CA_KEK is not 32 bytes in base64"), "{err}");
    }
}
