//! What only Tether's command-line tools need: `tsh` profiles and the guide's tables.
//!
//! `tctl` and `tsh` (and the tests and benchmarks that drive them) use this crate; the `tether`
//! daemon does not, so it links no keyring, home-directory or table code.
//!
//! # Layout
//!
//! - [`profile`]: `tsh` profiles under `TSH_HOME` (default `~/.tsh`), one per proxy, with the
//!   private key in the OS keyring or a 0600 file, the selected leaf cluster and the
//!   certificates bound to each leaf.
//! - [`pipe`]: a closed pipe ends the tools quietly (exit 0), not with a panic.
//! - [`table`]: the guide's plain tables (a space between columns, a dashed rule under the
//!   header), for `tctl` and `tsh` listings.

pub mod pipe;
pub mod profile;
pub mod table;
