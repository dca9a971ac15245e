//! Tether's shared core: what the `tether` daemon, `tctl` and `tsh` all need to agree on.
//!
//! # Layout
//!
//! - [`resource`]: the resource schemas (`role`, `user`, `token`, `trusted_cluster`,
//!   `remote_cluster`, `cert_authority`, `node`), strict YAML/JSON parsing with file, line,
//!   column and field in every error, and serialisation back to the same shape.
//! - [`rolemap`]: the trusted cluster `role_map` engine (exact, glob, `^…$` regex with captures).
//! - [`template`]: trait templates in role fields (`{{internal.logins}}`, `{{external.x}}`, …).
//! - [`labels`]: label selectors (`node_labels`, `cluster_labels`) and how they match.
//! - [`rbac`]: the access checker: may this identity log in here, see that cluster, do this verb.
//! - [`identity`]: who a certificate says its holder is.
//! - [`ssh_algorithms`]: the cipher order (AES-GCM first) every SSH client and server uses.
//! - [`ssh_cert`]: Ed25519 SSH CAs, user and host certificates, and their verification.
//! - [`endorse`]: a host CA key vouching for its successor, for a peer that missed a rotation.
//! - [`tls_cert`]: the X.509 CA of a cluster, server and client certificates for the mTLS API.
//! - [`api`]: wire types of the proxy's web API (its HTTPS client is the `tether-client` crate).
//! - [`totp`]: one-time codes for the optional second factor.
//! - [`proxy_header`]: the signed client address a proxy sends a node ahead of the SSH
//!   stream (PROXY protocol v2 with a signed TLV).
//! - [`tunnel`]: the reverse tunnel's wire protocol, shared by the leaf's agent, the root's
//!   listener and the tunnel benchmark.
//! - [`yaml`]: reading YAML into typed values with `FILE:LINE:COL: FIELD: message` errors
//!   (resource files and the daemon's config both read through it).
//! - [`current`]: a value a CA rotation replaces while readers keep the one they took.
//! - [`names`], [`duration`]: small value types shared by the above; [`pattern`]: the `^…$`
//!   regex convention (and one-line regex errors) that labels, templates and role maps share.
//!
//! This crate does no network or terminal I/O: the API client and credential files are in
//! `tether-client`, `tsh` profiles and tables in `tether-cli`.

pub mod api;
pub mod current;
pub mod duration;
pub mod endorse;
pub mod identity;
pub mod labels;
pub mod names;
pub mod pattern;
pub mod proxy_header;
pub mod rbac;
pub mod resource;
pub mod rolemap;
pub mod ssh_algorithms;
pub mod ssh_cert;
pub mod template;
pub mod tls_cert;
pub mod totp;
pub mod tunnel;
pub mod yaml;

/// Tether's version, printed by `tether version`, `tctl version` and `tsh version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
