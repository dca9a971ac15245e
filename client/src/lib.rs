//! Tether's HTTPS API client and the credentials a client holds.
//!
//! Everything that speaks to a proxy's web API from the outside lives here: `tctl` and `tsh`
//! use it, and so does the `tether` daemon itself (a leaf's auth service calls its root's, a
//! joining node calls its auth service). It carries no terminal or profile code, so the daemon
//! links none.
//!
//! # Layout
//!
//! - [`client`]: [`client::ApiClient`], JSON over HTTPS (reqwest on a rustls config built on
//!   ring), with explicit server trust ([`client::ServerTrust`]), optional mTLS
//!   ([`client::ClientIdentity`]), retries of dropped connections and errors that name the
//!   address and the cause.
//! - [`credentials`]: [`credentials::Credentials`], the key, certificates and trusted CAs of one
//!   identity as a 0600 JSON document (admin identity, identity files, the stored part of a
//!   `tsh` profile), and [`credentials::write_private`].

pub mod client;
pub mod credentials;
