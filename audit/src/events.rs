//! Every event Tether writes to the audit log, defined once: its name, its code for each
//! outcome, and the fields it carries.
//!
//! A call site names an [`Event`] and an [`Outcome`]; the name and code written on disk come
//! from here, so no call site can pair a code with the wrong event. The codes follow Teleport's
//! shape (`T` + four characters + `I`nfo, `W`arning or `E`rror) and never change once written: a
//! log reader, the web API and existing logs rely on them. `docs/audit-events.md` is rendered
//! from [`Event::ALL`] by [`reference()`] (a test keeps the file in step).
//!
//! Every line also carries the common fields [`COMMON_FIELDS`]. An event's own fields are
//! declared in its [`EventSpec::fields`]; debug builds check each emitted line against them.

/// How an event turned out: which of its codes is written, and the line's `success`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The action happened (`success: true`).
    Success,
    /// The action was refused or failed (`success: false`).
    Failure,
}

impl Outcome {
    /// `Success` for `true`.
    pub fn of(success: bool) -> Self {
        if success { Outcome::Success } else { Outcome::Failure }
    }

    /// Whether this is a success.
    pub fn is_success(self) -> bool {
        self == Outcome::Success
    }
}

/// The fields every line carries, before the event's own.
pub const COMMON_FIELDS: &[(&str, &str)] = &[
    ("time", "when the event happened, RFC 3339, UTC"),
    ("event", "the event's name"),
    ("code", "the event's code for this outcome"),
    ("cluster", "the cluster whose log this is"),
    ("user", "who acted (`@cluster:NAME` for a cluster, `@node:NAME` for a node)"),
    ("success", "whether the action happened"),
];

/// What one event is: its name, codes and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    /// The `event` written on disk.
    pub name: &'static str,
    /// The code written on success; `None` when the event only records refusals.
    pub success_code: Option<&'static str>,
    /// The code written on failure; `None` when the event only records what happened.
    pub failure_code: Option<&'static str>,
    /// One line on when it is written.
    pub summary: &'static str,
    /// Whether it carries the fields of the node connection it happened on
    /// ([`NODE_CONNECTION_FIELDS`]).
    pub node_connection: bool,
    /// The event's own fields, with what each holds.
    pub fields: &'static [(&'static str, &'static str)],
}

impl EventSpec {
    /// The code for `outcome`; an event with only one outcome writes that outcome's code.
    pub fn code(&self, outcome: Outcome) -> &'static str {
        let (wanted, other) = match outcome {
            Outcome::Success => (self.success_code, self.failure_code),
            Outcome::Failure => (self.failure_code, self.success_code),
        };
        wanted.or(other).unwrap_or("T0000E")
    }

    /// Whether `field` is one this event declares.
    pub fn declares(&self, field: &str) -> bool {
        self.all_fields().any(|(name, _)| name == field)
    }

    /// The keys of `fields` (an object) that are neither common nor declared by this event.
    pub fn undeclared(&self, fields: &serde_json::Value) -> Vec<String> {
        let Some(object) = fields.as_object() else { return Vec::new() };
        object.keys().filter(|k| !COMMON_FIELDS.iter().any(|(c, _)| c == k) && !self.declares(k)).cloned().collect()
    }

    /// Its fields: the node connection's (when it has them), then its own.
    pub fn all_fields(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        let connection = if self.node_connection { NODE_CONNECTION_FIELDS } else { &[] };
        connection.iter().chain(self.fields.iter()).copied()
    }
}

/// The fields a node adds to every event about a connection it accepted.
pub const NODE_CONNECTION_FIELDS: &[(&str, &str)] = &[
    ("login", "the Unix login"),
    ("node", "the node's name"),
    ("roles", "the roles the decision used (mapped, for a trusted cluster's user)"),
    ("user_cluster", "the cluster that issued the user's certificate"),
    ("ca_cluster", "the cluster whose CA signed it"),
    ("remote_addr", "the client's address: the socket's, or the user's as the relaying proxy signed it"),
    ("proxy_addr", "the address of the proxy that relayed the connection (absent for a direct one)"),
];

/// Every event in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A password (and second factor) login.
    UserLogin,
    /// A web UI session ended by its user.
    UserLogout,
    /// `tctl users add`.
    UserCreate,
    /// `tctl users reset`.
    UserReset,
    /// A resource created through the API.
    ResourceCreate,
    /// A resource replaced through the API.
    ResourceUpdate,
    /// A resource deleted through the API.
    ResourceDelete,
    /// A join token created.
    JoinTokenCreate,
    /// A join token deleted.
    JoinTokenDelete,
    /// A certificate signed by `tctl auth sign`.
    CertCreate,
    /// A root certificate bound to a leaf.
    CertLeaf,
    /// A root user's call to a leaf's web API through this root's proxy (`tctl --cluster`).
    LeafCall,
    /// Logins a role's templates produced that no certificate may carry, left out of one.
    LoginsDropped,
    /// The CA private keys opened, sealed or migrated at start-up, or not.
    CaKeys,
    /// A CA rotation phase changed (or a change was refused).
    CaRotate,
    /// Another cluster's CAs, as stored here, changed over the tunnel (or a change was refused).
    CaSync,
    /// A node joining with a token.
    NodeJoin,
    /// RBAC said no to an API call or a relay.
    AccessDenied,
    /// A failed SSH authentication.
    AuthFailure,
    /// A PROXY header a node did not believe.
    ProxyHeaderRefused,
    /// A trusted cluster's user's roles mapped to local ones (or not).
    RoleMapping,
    /// A leaf asking this root to trust it.
    TrustedClusterValidate,
    /// A tunnel refused at the root.
    TunnelRefused,
    /// A session's command or shell started.
    SessionStart,
    /// A session's process ended.
    SessionEnd,
    /// A session's process could not start.
    Exec,
    /// A port forward asked for.
    Port,
    /// One SFTP file operation.
    Sftp,
    /// Events lost because the log could not keep up.
    AuditDropped,
}

impl Event {
    /// Every event, in the order the reference lists them.
    pub const ALL: &'static [Event] = &[
        Event::UserLogin,
        Event::UserLogout,
        Event::UserCreate,
        Event::UserReset,
        Event::ResourceCreate,
        Event::ResourceUpdate,
        Event::ResourceDelete,
        Event::JoinTokenCreate,
        Event::JoinTokenDelete,
        Event::CertCreate,
        Event::CertLeaf,
        Event::LeafCall,
        Event::LoginsDropped,
        Event::CaKeys,
        Event::CaRotate,
        Event::CaSync,
        Event::NodeJoin,
        Event::AccessDenied,
        Event::AuthFailure,
        Event::ProxyHeaderRefused,
        Event::RoleMapping,
        Event::TrustedClusterValidate,
        Event::TunnelRefused,
        Event::SessionStart,
        Event::SessionEnd,
        Event::Exec,
        Event::Port,
        Event::Sftp,
        Event::AuditDropped,
    ];

    /// The event's name, codes and fields.
    pub fn spec(self) -> EventSpec {
        let spec = |name, success_code, failure_code, summary, fields| EventSpec {
            name,
            success_code,
            failure_code,
            summary,
            node_connection: false,
            fields,
        };
        let on_node = |spec: EventSpec| EventSpec { node_connection: true, ..spec };
        match self {
            Event::UserLogin => spec(
                "user.login",
                Some("T1000I"),
                Some("T1000W"),
                "a password login through the web API, accepted or refused",
                &[
                    ("addr", "the client's address"),
                    ("error", "why it was refused"),
                    ("session", "`web` when the login opened a web UI session (`POST /web/login`)"),
                ],
            ),
            Event::UserLogout => spec(
                "user.logout",
                Some("T1001I"),
                None,
                "a web UI session ended by its user (`POST /web/logout`); `tsh logout` forgets keys on the \
                 client only",
                &[("addr", "the client's address")],
            ),
            Event::UserCreate => spec(
                "user.create",
                Some("T1002I"),
                None,
                "a user created with an invite (`tctl users add`)",
                &[("name", "the new user"), ("roles", "their roles")],
            ),
            Event::UserReset => spec(
                "user.reset",
                Some("T1003I"),
                None,
                "a user's password cleared and a new invite issued (`tctl users reset`)",
                &[("name", "the user")],
            ),
            Event::ResourceCreate => spec(
                "resource.create",
                Some("T9001I"),
                None,
                "a resource created (`tctl create`)",
                &[("kind", "the resource's kind"), ("name", "its name")],
            ),
            Event::ResourceUpdate => spec(
                "resource.update",
                Some("T9001I"),
                None,
                "a resource replaced (`tctl create -f`, `tctl update`)",
                &[("kind", "the resource's kind"), ("name", "its name")],
            ),
            Event::ResourceDelete => spec(
                "resource.delete",
                Some("T9002I"),
                None,
                "a resource deleted (`tctl rm`), or a remote cluster removed by the root after \
                 `auth_service.remote_cluster_ttl` without a heartbeat (user `@tether`)",
                &[
                    ("kind", "the resource's kind"),
                    ("name", "its name"),
                    ("reason", "why the cluster removed it by itself"),
                ],
            ),
            Event::JoinTokenCreate => spec(
                "join_token.create",
                Some("T7000I"),
                None,
                "a join token created (`tctl tokens add`); the token itself is never logged",
                &[("type", "node or trusted_cluster"), ("expires", "when it expires")],
            ),
            Event::JoinTokenDelete => spec(
                "join_token.delete",
                Some("T7001I"),
                None,
                "a join token deleted (`tctl tokens rm`)",
                &[
                    ("type", "node or trusted_cluster"),
                    (
                        "token",
                        "the token as `tctl tokens ls` shows it: its first characters (tokens are stored hashed)",
                    ),
                ],
            ),
            Event::CertCreate => spec(
                "cert.create",
                Some("TC000I"),
                None,
                "a user certificate signed for an admin (`tctl auth sign`)",
                &[("for_user", "the user the certificate names")],
            ),
            Event::CertLeaf => spec(
                "cert.leaf",
                Some("TC001I"),
                Some("TC001W"),
                "a root user's certificate bound to a leaf after its `cluster_labels` check",
                &[
                    ("leaf_cluster", "the leaf"),
                    ("delegated", "true: for this root's proxy to call the leaf on the user's behalf"),
                    ("error", "why it was refused"),
                ],
            ),
            Event::LeafCall => spec(
                "leaf.call",
                Some("TC002I"),
                Some("TC002W"),
                "a root user's call to a leaf's web API, forwarded by this root's proxy through the leaf's tunnel \
                 (`tctl --cluster`); the leaf decides and audits it too",
                &[
                    ("leaf_cluster", "the leaf"),
                    ("method", "the HTTP method"),
                    ("path", "the path on the leaf"),
                    ("status", "the leaf's HTTP status (0: no answer)"),
                    ("error", "why it failed: the root's refusal, the leaf's answer, or no answer"),
                ],
            ),
            Event::LoginsDropped => spec(
                "cert.logins_dropped",
                None,
                Some("TC003W"),
                "logins that the user's roles produced (a trait template expanded to a value that is not a valid \
                 unix login) were left out of a certificate",
                &[("dropped", "each login left out, with the reason"), ("roles", "the roles that produced them")],
            ),
            Event::CaKeys => spec(
                "ca.keys",
                Some("TC010I"),
                Some("TC010E"),
                "the auth service opened the sealed CA keys at start-up, or generated and sealed them, or sealed \
                 keys an older version kept in clear; or could not (a missing or wrong key-encryption key)",
                &[
                    ("action", "`opened`, `generated` or `migrated`"),
                    ("kek", "where the key-encryption key came from (`TETHER_CA_KEK` or a file path)"),
                    ("kek_generated", "the key-encryption key file generated at this start, if one was"),
                    ("error", "why the keys could not be opened or sealed"),
                ],
            ),
            Event::CaRotate => spec(
                "ca.rotate",
                Some("TCA01I"),
                Some("TCA01W"),
                "a CA's rotation moved to another phase (by `tctl auth rotate`, or by the automatic mode), or a \
                 move was refused",
                &[
                    ("ca_type", "`user`, `host` or `tls`"),
                    ("from", "the phase before"),
                    ("phase", "the phase asked for"),
                    ("mode", "`manual` or `auto`"),
                    ("rotation_id", "the rotation's ID"),
                    ("keys", "the fingerprints of the keys trusted after the move"),
                    ("error", "why the move was refused"),
                ],
            ),
            Event::CaSync => spec(
                "ca.sync",
                Some("TCA02I"),
                Some("TCA02W"),
                "the CAs this cluster keeps of a trusted or remote cluster were updated from that cluster over the \
                 tunnel (a rotation there), or an update was refused",
                &[
                    ("peer", "the other cluster"),
                    ("ca_type", "`user`, `host` or `tls`"),
                    ("phase", "that CA's rotation phase there"),
                    ("keys", "the fingerprints of the keys trusted after the update"),
                    ("error", "why the update was refused"),
                ],
            ),
            Event::NodeJoin => spec(
                "node.join",
                Some("T3100I"),
                Some("T3100W"),
                "a node joining the cluster with a token",
                &[
                    ("node", "the node's name"),
                    ("hostname", "its host name"),
                    ("addr", "the address a refused join came from"),
                    ("error", "why it was refused"),
                ],
            ),
            Event::AccessDenied => spec(
                "access.denied",
                None,
                Some("T9000W"),
                "RBAC refused an API call, or the relay refused a path to a cluster",
                &[
                    ("resource", "the resource kind asked for"),
                    ("verb", "the verb asked for"),
                    ("reason", "why RBAC said no"),
                    ("leaf_cluster", "the cluster asked for (relay)"),
                    ("node", "the node asked for (relay)"),
                    ("login", "the login asked for (relay)"),
                    (
                        "action",
                        "the call a root proxy was to make on the user's behalf (`tctl --cluster`, `tsh ls --all`)",
                    ),
                ],
            ),
            Event::AuthFailure => spec(
                "auth.failure",
                None,
                Some("T3007W"),
                "an SSH authentication refused by a node or the relay",
                &[
                    ("login", "the login asked for"),
                    ("node", "the node that refused"),
                    ("remote_addr", "the client's address, on a node"),
                    ("proxy_addr", "the proxy that relayed the connection, on a node"),
                    ("addr", "the client's address, on the relay"),
                    ("reason", "why, in words"),
                    ("kind", "why, as a stable key (`untrusted_ca`, `auth_timeout`, …)"),
                ],
            ),
            Event::ProxyHeaderRefused => spec(
                "proxy_header.refused",
                None,
                Some("T3008W"),
                "a node refused a connection whose PROXY header (the client address a proxy signs) it could not \
                 believe: unsigned, forged, replayed, stale or for another node",
                &[
                    ("node", "the node that refused"),
                    ("addr", "who sent the header (the socket's address)"),
                    ("claimed_addr", "the client address the header claimed, when it could be read"),
                    ("signer", "the key ID its certificate claims (unverified), when there was one"),
                    ("reason", "why, in words"),
                    ("left_out", "refused headers not written since the last line (at most 20 lines per 10 s)"),
                ],
            ),
            Event::RoleMapping => spec(
                "role.mapping",
                Some("T7300I"),
                Some("T7300W"),
                "a trusted cluster's user's roles mapped to this cluster's roles, or refused",
                &[
                    ("service", "`api` for the web API; absent on a node"),
                    ("node", "the node that decided"),
                    ("user_cluster", "the cluster that issued the certificate"),
                    ("ca_cluster", "the cluster whose CA signed it"),
                    ("remote_roles", "the roles the certificate carries"),
                    ("local_roles", "the roles they mapped to"),
                    ("error", "why none did"),
                    ("remote_addr", "the client's address"),
                    ("proxy_addr", "the proxy that relayed the connection, on a node"),
                ],
            ),
            Event::TrustedClusterValidate => spec(
                "trusted_cluster.validate",
                Some("T7100I"),
                Some("T7100W"),
                "a leaf asked this root to trust it (`tctl create trusted_cluster.yaml` on the leaf)",
                &[("leaf_cluster", "the leaf's name"), ("addr", "the leaf's address"), ("error", "why it was refused")],
            ),
            Event::TunnelRefused => spec(
                "tunnel.refused",
                None,
                Some("T7200W"),
                "a leaf's tunnel agent refused at the root",
                &[("addr", "the agent's address"), ("reason", "why")],
            ),
            Event::SessionStart => on_node(spec(
                "session.start",
                Some("T2000I"),
                None,
                "a session's command, shell or subsystem started on a node",
                &[
                    ("command", "the command (empty for a shell)"),
                    ("pty", "whether it has a terminal"),
                    ("subsystem", "`sftp` for the SFTP subsystem"),
                ],
            )),
            Event::SessionEnd => on_node(spec(
                "session.end",
                Some("T2004I"),
                None,
                "a session's process ended",
                &[
                    ("command", "the command (empty for a shell)"),
                    ("pty", "whether it had a terminal"),
                    ("subsystem", "`sftp` for the SFTP subsystem"),
                    ("exit_code", "its exit code (128 + the signal when killed)"),
                    ("signal", "the signal that killed it"),
                    ("duration_ms", "how long it ran"),
                ],
            )),
            Event::Exec => on_node(spec(
                "exec",
                None,
                Some("T3002E"),
                "a session's process could not start",
                &[
                    ("command", "the command (empty for a shell)"),
                    ("pty", "whether it asked for a terminal"),
                    ("subsystem", "`sftp` for the SFTP subsystem"),
                    ("error", "why it could not start"),
                ],
            )),
            Event::Port => on_node(spec(
                "port",
                Some("T3003I"),
                Some("T3003E"),
                "a port forward (`-L`, `-R`, `-D`) granted or refused on a node",
                &[
                    ("forward", "`local` or `remote`"),
                    ("addr", "the address forwarded to, or listened on"),
                    ("origin", "where a local forward's connection came from"),
                    ("listen", "the address a remote forward listens on"),
                    ("error", "why it was refused"),
                ],
            )),
            Event::Sftp => on_node(spec(
                "sftp",
                Some("T3004I"),
                None,
                "one file operation of an SFTP session",
                &[
                    ("subsystem", "`sftp`"),
                    ("op", "the operation (`open`, `remove`, `rename`, …)"),
                    ("path", "the path it acted on"),
                    ("flags", "how a file was opened"),
                    ("to", "a rename's new path"),
                    ("target", "a link's target"),
                ],
            )),
            Event::AuditDropped => spec(
                "audit.dropped",
                None,
                Some("T9100E"),
                "events lost since the last such line, because the log's queue was full or a write failed",
                &[("count", "how many events were lost")],
            ),
        }
    }

    /// The event's name on disk.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The event's code for `outcome`.
    pub fn code(self, outcome: Outcome) -> &'static str {
        self.spec().code(outcome)
    }
}

/// The reference of every event as Markdown: what `docs/audit-events.md` holds.
pub fn reference() -> String {
    let mut out = String::from(
        "# Audit events\n\n\
         <!-- Rendered from audit/src/events.rs by `tether_audit::events::reference`; a test keeps it in step. \
         Regenerate with `TETHER_BLESS=1 cargo test -p tether-audit`. -->\n\n\
         Each line of `DATA_DIR/log/events.log` is one JSON object. Every line has these fields:\n\n\
         | field | what it holds |\n|---|---|\n",
    );
    for (name, what) in COMMON_FIELDS {
        out.push_str(&format!("| `{name}` | {what} |\n"));
    }
    out.push_str("\nand then the fields of its event. A field whose value is unknown is `null` or absent.\n\n");
    out.push_str("| event | success | failure | written when |\n|---|---|---|---|\n");
    for event in Event::ALL {
        let s = event.spec();
        let code = |c: Option<&str>| c.map_or_else(|| "—".to_string(), |c| format!("`{c}`"));
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            s.name,
            code(s.success_code),
            code(s.failure_code),
            s.summary
        ));
    }
    for event in Event::ALL {
        let s = event.spec();
        out.push_str(&format!(
            "\n## `{}`\n\n{}.\n\n| field | what it holds |\n|---|---|\n",
            s.name,
            capitalise(s.summary)
        ));
        for (name, what) in s.all_fields() {
            out.push_str(&format!("| `{name}` | {what} |\n"));
        }
    }
    out
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_and_codes_are_unique_and_well_formed() {
        let mut names = HashSet::new();
        let mut codes = HashSet::new();
        assert_eq!(Event::ALL.len(), 29, "a new event goes into Event::ALL");
        for event in Event::ALL {
            let s = event.spec();
            assert!(names.insert(s.name), "{} is named twice", s.name);
            assert!(s.success_code.is_some() || s.failure_code.is_some(), "{} has no code", s.name);
            for code in [s.success_code, s.failure_code].into_iter().flatten() {
                assert!(code.len() == 6 && code.starts_with('T'), "{code}");
                assert!(matches!(code.as_bytes()[5], b'I' | b'W' | b'E'), "{code}");
                // The resource create and update events share T9001I, as they always have.
                if !matches!(event, Event::ResourceUpdate) {
                    assert!(codes.insert(code), "{code} is used twice");
                }
            }
            for (field, _) in s.fields {
                assert!(!COMMON_FIELDS.iter().any(|(c, _)| c == field), "{}: {field} is a common field", s.name);
            }
        }
    }

    #[test]
    fn an_event_with_one_outcome_writes_its_code_for_either() {
        assert_eq!(Event::AccessDenied.code(Outcome::Failure), "T9000W");
        assert_eq!(Event::AccessDenied.code(Outcome::Success), "T9000W");
        assert_eq!(Event::UserLogin.code(Outcome::Success), "T1000I");
        assert_eq!(Event::UserLogin.code(Outcome::Failure), "T1000W");
        assert!(Event::SessionEnd.spec().declares("exit_code") && Event::SessionEnd.spec().declares("login"));
        assert!(!Event::UserLogin.spec().declares("login"));
    }

    /// `docs/audit-events.md` is this module's reference; `TETHER_BLESS=1` rewrites it.
    #[test]
    fn the_reference_in_docs_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/audit-events.md");
        let want = reference();
        if std::env::var_os("TETHER_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run `TETHER_BLESS=1 cargo test -p tether-audit` and commit it",
            path.display()
        );
    }
}
