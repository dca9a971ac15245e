//! CA keys in an HSM, through PKCS#11 (`auth_service.ca_key_params.pkcs11`, Teleport's
//! spelling): keys are generated in the token, sensitive and never extractable — Ed25519 for
//! the SSH CAs (`CKM_EC_EDWARDS_KEY_PAIR_GEN`, signing with `CKM_EDDSA`), ECDSA P-256 for the
//! TLS CA (`CKM_EC_KEY_PAIR_GEN`; this process hashes with SHA-256 and the token signs the
//! digest with `CKM_ECDSA`) — and sign there; this process holds only a
//! reference to each key, its label and public key, which the sealed record stores in place of
//! the key itself (`pkcs11:LABEL:PUBLIC`, [`KeyRef`]).
//!
//! One logged-in read-write session serves every signature, one at a time. A signature that
//! fails because the session was lost opens a new one and tries once more.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use russh::keys::ssh_encoding::base64::{Base64, Encoding};
use tether_shared::ssh_cert::RemoteKey;

/// The DER of the Ed25519 curve's OID (1.3.101.112), as `CKA_EC_PARAMS` names it.
const ED25519_PARAMS: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// The DER of P-256's OID (prime256v1, 1.2.840.10045.3.1.7), as `CKA_EC_PARAMS` names it.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Which kind of key a CA gets in the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519 (the SSH CAs).
    Ed25519,
    /// ECDSA P-256 (the TLS CA: what browsers accept).
    P256,
}

impl KeyKind {
    /// The kind of a public key, by its length: 32 bytes Ed25519, a 65-byte uncompressed point
    /// P-256.
    fn of(public: &[u8]) -> Option<KeyKind> {
        match public {
            p if p.len() == 32 => Some(KeyKind::Ed25519),
            [0x04, rest @ ..] if rest.len() == 64 => Some(KeyKind::P256),
            _ => None,
        }
    }
}
/// What a stored key reference starts with.
pub const PREFIX: &str = "pkcs11:";

/// `auth_service.ca_key_params.pkcs11`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so`).
    pub module_path: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The user PIN.
    pub pin: String,
}

/// Why the HSM could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    /// The module did not load or initialise.
    #[error("PKCS#11 module {}: {cause}", module.display())]
    Module {
        /// The module.
        module: PathBuf,
        /// The cause.
        cause: String,
    },
    /// No token with the configured label.
    #[error("no PKCS#11 token labelled {0:?} (ca_key_params.pkcs11.token_label)")]
    NoToken(String),
    /// The token refused the PIN, or the session.
    #[error("PKCS#11 token {label:?}: {cause} (check ca_key_params.pkcs11.pin)")]
    Login {
        /// The token.
        label: String,
        /// The cause.
        cause: String,
    },
    /// A key operation failed.
    #[error("PKCS#11 key {label:?}: {cause}")]
    Key {
        /// The key's label.
        label: String,
        /// The cause.
        cause: String,
    },
}

/// A reference to a key in the token, as the sealed record stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    /// The key objects' label (and ID).
    pub label: String,
    /// The public key: 32 bytes Ed25519, or a 65-byte uncompressed P-256 point.
    pub public: Vec<u8>,
}

impl KeyRef {
    /// Reads `pkcs11:LABEL:PUBLIC`; `None` for anything else (a key held here).
    pub fn parse(text: &str) -> Option<KeyRef> {
        let rest = text.trim().strip_prefix(PREFIX)?;
        let (label, public) = rest.rsplit_once(':')?;
        let mut key = [0u8; 65];
        let public = Base64::decode(public, &mut key).ok()?;
        KeyKind::of(public)?;
        Some(KeyRef { label: label.to_string(), public: public.to_vec() })
    }

    /// The stored form.
    pub fn to_text(&self) -> String {
        format!("{PREFIX}{}:{}", self.label, Base64::encode_string(&self.public))
    }
}

/// A logged-in token.
pub struct Hsm {
    ctx: Pkcs11,
    slot: Slot,
    config: Pkcs11Config,
    session: Mutex<Option<Session>>,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hsm").field("token", &self.config.token_label).finish_non_exhaustive()
    }
}

impl Hsm {
    /// Loads the module, finds the token and logs in.
    pub fn open(config: &Pkcs11Config) -> Result<Arc<Hsm>, HsmError> {
        let module = |cause: String| HsmError::Module { module: config.module_path.clone(), cause };
        let ctx = Pkcs11::new(&config.module_path).map_err(|e| module(e.to_string()))?;
        match ctx.initialize(CInitializeArgs::OsThreads) {
            Ok(()) => {}
            // Already initialised in this process (another Hsm): fine.
            Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(module(e.to_string())),
        }
        let slots = ctx.get_slots_with_token().map_err(|e| module(e.to_string()))?;
        let slot = slots
            .into_iter()
            .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label().trim_end() == config.token_label))
            .ok_or_else(|| HsmError::NoToken(config.token_label.clone()))?;
        let hsm = Hsm { ctx, slot, config: config.clone(), session: Mutex::new(None) };
        hsm.with_session(|_| Ok(()))?;
        Ok(Arc::new(hsm))
    }

    fn login(&self) -> Result<Session, HsmError> {
        let login = |cause: String| HsmError::Login { label: self.config.token_label.clone(), cause };
        let session = self.ctx.open_rw_session(self.slot).map_err(|e| login(e.to_string()))?;
        match session.login(UserType::User, Some(&AuthPin::new(self.config.pin.clone()))) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(login(e.to_string())),
        }
        Ok(session)
    }

    /// Runs `f` on the session (opening one, logged in, when there is none); after a failure
    /// with a session that may have been lost, once more on a new one.
    fn with_session<T>(&self, f: impl Fn(&Session) -> Result<T, HsmError>) -> Result<T, HsmError> {
        let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        for attempt in 0..2 {
            if guard.is_none() {
                *guard = Some(self.login()?);
            }
            let Some(session) = guard.as_ref() else { continue };
            match f(session) {
                Ok(v) => return Ok(v),
                Err(e) if attempt == 0 => {
                    tracing::warn!("PKCS#11: {e}; opening a new session");
                    *guard = None;
                }
                Err(e) => return Err(e),
            }
        }
        Err(HsmError::Login { label: self.config.token_label.clone(), cause: "no session".into() })
    }

    /// Generates a key pair of `kind` in the token, labelled `label`: private key sensitive,
    /// never extractable, for signing only.
    pub fn generate(self: &Arc<Self>, label: &str, kind: KeyKind) -> Result<HsmKey, HsmError> {
        let err = |e: cryptoki::error::Error| HsmError::Key { label: label.to_string(), cause: e.to_string() };
        let id = label.as_bytes().to_vec();
        let (key_type, params, mechanism) = match kind {
            KeyKind::Ed25519 => (KeyType::EC_EDWARDS, ED25519_PARAMS.to_vec(), Mechanism::EccEdwardsKeyPairGen),
            KeyKind::P256 => (KeyType::EC, P256_PARAMS.to_vec(), Mechanism::EccKeyPairGen),
        };
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::KeyType(key_type),
            Attribute::EcParams(params),
            Attribute::Verify(true),
            Attribute::Label(id.clone()),
            Attribute::Id(id.clone()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(id.clone()),
            Attribute::Id(id),
        ];
        let (public, private) =
            self.with_session(|s| s.generate_key_pair(&mechanism, &public_template, &private_template).map_err(err))?;
        let point = self.with_session(|s| ec_point(s, public, label))?;
        if KeyKind::of(&point) != Some(kind) {
            return Err(HsmError::Key {
                label: label.to_string(),
                cause: format!("the token made a {kind:?} key of another shape"),
            });
        }
        self.with_session(|s| never_leaves(s, private, label))?;
        Ok(HsmKey { hsm: self.clone(), key: KeyRef { label: label.to_string(), public: point }, handle: private })
    }

    /// The key `key` names, checked against its public key.
    pub fn find(self: &Arc<Self>, key: &KeyRef) -> Result<HsmKey, HsmError> {
        let label = key.label.clone();
        let err = |cause: String| HsmError::Key { label: label.clone(), cause };
        let id = key.label.as_bytes().to_vec();
        let found = |class: ObjectClass| {
            self.with_session(|s| {
                s.find_objects(&[Attribute::Class(class), Attribute::Id(id.clone())]).map_err(|e| err(e.to_string()))
            })
        };
        let (privates, publics) = (found(ObjectClass::PRIVATE_KEY)?, found(ObjectClass::PUBLIC_KEY)?);
        let (Some(private), Some(public)) = (privates.first().copied(), publics.first().copied()) else {
            return Err(err("no such key in the token (was it deleted, or is this another token?)".into()));
        };
        if privates.len() > 1 || publics.len() > 1 {
            return Err(err("the token holds more than one key with this label; remove the copies".into()));
        }
        let point = self.with_session(|s| ec_point(s, public, &key.label))?;
        if point != key.public {
            return Err(err("the token's key is not the one stored".into()));
        }
        Ok(HsmKey { hsm: self.clone(), key: key.clone(), handle: private })
    }
}

/// Checks that the token made the private key as asked: sensitive, never extractable, and its
/// value unreadable. A token that would hand the key out is refused.
fn never_leaves(session: &Session, private: ObjectHandle, label: &str) -> Result<(), HsmError> {
    let err = |cause: String| HsmError::Key { label: label.to_string(), cause };
    let attrs = session
        .get_attributes(private, &[AttributeType::Sensitive, AttributeType::Extractable])
        .map_err(|e| err(e.to_string()))?;
    let sensitive = attrs.iter().any(|a| matches!(a, Attribute::Sensitive(true)));
    let extractable = attrs.iter().any(|a| matches!(a, Attribute::Extractable(true)));
    if !sensitive || extractable {
        return Err(err("the token made a key that can leave it (not sensitive, or extractable); refusing it".into()));
    }
    let value = session.get_attributes(private, &[AttributeType::Value]);
    if matches!(value, Ok(v) if v.iter().any(|a| matches!(a, Attribute::Value(bytes) if !bytes.is_empty()))) {
        return Err(err("the token reveals the private key's value; refusing it".into()));
    }
    Ok(())
}

/// The public key of a token's public key object (`CKA_EC_POINT`, a DER OCTET STRING or the
/// raw bytes): Ed25519's 32 bytes, or P-256's 65-byte uncompressed point.
fn ec_point(session: &Session, public: ObjectHandle, label: &str) -> Result<Vec<u8>, HsmError> {
    let err = |cause: String| HsmError::Key { label: label.to_string(), cause };
    let attrs = session.get_attributes(public, &[AttributeType::EcPoint]).map_err(|e| err(e.to_string()))?;
    let Some(Attribute::EcPoint(point)) = attrs.into_iter().next() else {
        return Err(err("the public key has no EC point".into()));
    };
    let raw = match point.as_slice() {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        raw if KeyKind::of(raw).is_some() => raw,
        _ => return Err(err(format!("unexpected EC point of {} bytes", point.len()))),
    };
    Ok(raw.to_vec())
}

/// An ECDSA signature as PKCS#11 gives it (r and s, 32 bytes each) in X.509's form: DER
/// `SEQUENCE { INTEGER r, INTEGER s }`. `None` for a signature of another length.
fn ecdsa_der(raw: &[u8]) -> Option<Vec<u8>> {
    let (r, s) = (raw.get(..32)?, raw.get(32..)?);
    if s.len() != 32 {
        return None;
    }
    let integer = |x: &[u8]| {
        let x = x.get(x.iter().take_while(|b| **b == 0).count().min(31)..).unwrap_or(x);
        let pad = x.first().is_some_and(|b| b & 0x80 != 0);
        let mut out = vec![0x02, u8::try_from(x.len() + usize::from(pad)).unwrap_or(0)];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(x);
        out
    };
    let (r, s) = (integer(r), integer(s));
    let mut out = vec![0x30, u8::try_from(r.len() + s.len()).ok()?];
    out.extend(r);
    out.extend(s);
    Some(out)
}

/// A key in the token; it signs there.
pub struct HsmKey {
    hsm: Arc<Hsm>,
    key: KeyRef,
    handle: ObjectHandle,
}

impl HsmKey {
    /// Its reference.
    pub fn reference(&self) -> &KeyRef {
        &self.key
    }
}

impl RemoteKey for HsmKey {
    fn public(&self) -> Vec<u8> {
        self.key.public.clone()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let sign = |mechanism: &Mechanism, data: &[u8]| {
            self.hsm
                .with_session(|s| {
                    s.sign(mechanism, self.handle, data)
                        .map_err(|e| HsmError::Key { label: self.key.label.clone(), cause: e.to_string() })
                })
                .map_err(|e| e.to_string())
        };
        match KeyKind::of(&self.key.public) {
            Some(KeyKind::P256) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, message);
                let raw = sign(&Mechanism::Ecdsa, digest.as_ref())?;
                ecdsa_der(&raw).ok_or_else(|| format!("the token gave an ECDSA signature of {} bytes", raw.len()))
            }
            _ => sign(&Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)), message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};

    /// A token's raw r||s, as ring's fixed-length signer makes it, turns into the DER that
    /// X.509 verifiers take, whatever leading zeros or high bits r and s have.
    #[test]
    fn raw_ecdsa_signatures_become_der_that_verifies() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        assert_eq!(KeyKind::of(pair.public_key().as_ref()), Some(KeyKind::P256));
        let verifier = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, pair.public_key().as_ref());
        for i in 0..64u8 {
            let message = [i; 40];
            let raw = pair.sign(&rng, &message).unwrap();
            let der = ecdsa_der(raw.as_ref()).unwrap();
            verifier.verify(&message, &der).unwrap();
        }
        assert_eq!(ecdsa_der(&[0u8; 63]), None);
        assert_eq!(ecdsa_der(&[0u8; 65]), None);
        // A zero r or s still encodes as one zero byte.
        assert_eq!(ecdsa_der(&[0u8; 64]), Some(vec![0x30, 6, 2, 1, 0, 2, 1, 0]));
    }

    #[test]
    fn key_references_keep_their_kind() {
        let ed = KeyRef { label: "a:b".into(), public: vec![7; 32] };
        assert_eq!(KeyRef::parse(&ed.to_text()), Some(ed));
        let mut point = vec![4u8];
        point.extend([9u8; 64]);
        let p256 = KeyRef { label: "tls".into(), public: point };
        assert_eq!(KeyRef::parse(&p256.to_text()), Some(p256));
        assert_eq!(KeyRef::parse("pkcs11:x:AAAA"), None);
    }

    /// `find`'s refusals on a real SoftHSM2 token (the `softhsm2` package, which CI installs):
    /// a key is used only when it is the one stored and the only one with its label. PKCS#11 is
    /// initialised once per process and SoftHSM reads its configuration then, so the test runs
    /// itself again in a child process pointed at a token of its own.
    #[test]
    fn a_key_is_found_only_when_it_is_the_one_stored_and_alone() {
        const CHILD: &str = "TETHER_TEST_SOFTHSM_CHILD";
        const NAME: &str = "pkcs11::tests::a_key_is_found_only_when_it_is_the_one_stored_and_alone";
        if std::env::var_os(CHILD).is_none() {
            let dir = tempfile::tempdir().unwrap();
            let tokens = dir.path().join("tokens");
            std::fs::create_dir(&tokens).unwrap();
            let conf = dir.path().join("softhsm2.conf");
            let text =
                format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display());
            std::fs::write(&conf, text).unwrap();
            let init = std::process::Command::new("softhsm2-util")
                .args(["--init-token", "--free", "--label", "unit", "--pin", "1234", "--so-pin", "5678"])
                .env("SOFTHSM2_CONF", &conf)
                .output()
                .expect("softhsm2-util runs (apt-get install softhsm2)");
            assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
            let child = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
                .env("SOFTHSM2_CONF", &conf)
                .env(CHILD, "1")
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&child.stdout);
            let err = String::from_utf8_lossy(&child.stderr);
            assert!(child.status.success() && out.contains("1 passed"), "{out}\n{err}");
            return;
        }
        let config = Pkcs11Config {
            module_path: "/usr/lib/softhsm/libsofthsm2.so".into(),
            token_label: "unit".into(),
            pin: "1234".into(),
        };
        let hsm = Hsm::open(&config).unwrap();
        let stored = hsm.generate("tether.unit.user.1", KeyKind::Ed25519).unwrap().reference().clone();
        assert!(hsm.find(&stored).is_ok());
        let refused = |key: &KeyRef| hsm.find(key).err().map(|e| e.to_string()).unwrap_or_default();
        let other = KeyRef { label: stored.label.clone(), public: vec![7; 32] };
        assert!(refused(&other).contains("the token's key is not the one stored"), "{}", refused(&other));
        let gone = KeyRef { label: "tether.unit.user.2".into(), public: stored.public.clone() };
        assert!(refused(&gone).contains("no such key in the token"), "{}", refused(&gone));
        // A second key under the same label: neither is used.
        hsm.generate(&stored.label, KeyKind::Ed25519).unwrap();
        let twice = refused(&stored);
        assert!(twice.contains("more than one key with this label; remove the copies"), "{twice}");
    }
}
