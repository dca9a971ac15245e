//! CA keys in an HSM, through PKCS#11 (`auth_service.ca_key_params.pkcs11`, Teleport's
//! spelling): keys are generated in the token (Ed25519, `CKM_EC_EDWARDS_KEY_PAIR_GEN`,
//! sensitive and never extractable) and sign there (`CKM_EDDSA`); this process holds only a
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
    /// The Ed25519 public key.
    pub public: [u8; 32],
}

impl KeyRef {
    /// Reads `pkcs11:LABEL:PUBLIC`; `None` for anything else (a key held here).
    pub fn parse(text: &str) -> Option<KeyRef> {
        let rest = text.trim().strip_prefix(PREFIX)?;
        let (label, public) = rest.rsplit_once(':')?;
        let mut key = [0u8; 32];
        match Base64::decode(public, &mut key) {
            Ok(d) if d.len() == 32 => Some(KeyRef { label: label.to_string(), public: key }),
            _ => None,
        }
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

    /// Generates an Ed25519 key pair in the token, labelled `label`: private key sensitive,
    /// never extractable, for signing only.
    pub fn generate(self: &Arc<Self>, label: &str) -> Result<HsmKey, HsmError> {
        let err = |e: cryptoki::error::Error| HsmError::Key { label: label.to_string(), cause: e.to_string() };
        let id = label.as_bytes().to_vec();
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::EcParams(ED25519_PARAMS.to_vec()),
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
        let (public, private) = self.with_session(|s| {
            s.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public_template, &private_template).map_err(err)
        })?;
        let point = self.with_session(|s| ec_point(s, public, label))?;
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
        let (Some(private), Some(public)) =
            (found(ObjectClass::PRIVATE_KEY)?.first().copied(), found(ObjectClass::PUBLIC_KEY)?.first().copied())
        else {
            return Err(err("no such key in the token (was it deleted, or is this another token?)".into()));
        };
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

/// The Ed25519 public key of a token's public key object (`CKA_EC_POINT`, DER OCTET STRING or
/// the raw 32 bytes).
fn ec_point(session: &Session, public: ObjectHandle, label: &str) -> Result<[u8; 32], HsmError> {
    let err = |cause: String| HsmError::Key { label: label.to_string(), cause };
    let attrs = session.get_attributes(public, &[AttributeType::EcPoint]).map_err(|e| err(e.to_string()))?;
    let Some(Attribute::EcPoint(point)) = attrs.into_iter().next() else {
        return Err(err("the public key has no EC point".into()));
    };
    let raw = match point.as_slice() {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        raw if raw.len() == 32 => raw,
        _ => return Err(err(format!("unexpected EC point of {} bytes", point.len()))),
    };
    let mut out = [0u8; 32];
    out.copy_from_slice(raw);
    Ok(out)
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
    fn public(&self) -> [u8; 32] {
        self.key.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        self.hsm
            .with_session(|s| {
                s.sign(&mechanism, self.handle, message)
                    .map_err(|e| HsmError::Key { label: self.key.label.clone(), cause: e.to_string() })
            })
            .map_err(|e| e.to_string())
    }
}
