//! The russh server handler of one connection: authentication, then the requests of an
//! authenticated client, each answered here or handed to the file that owns its kind
//! (`launch.rs` for shell, exec and sftp and agent forwarding, `forward.rs` for port forwards).
//!
//! Authentication offers `publickey` only, accepts every key *offer* (the offer of a certificate
//! arrives as its inner key, so refusing there would break certificate login), refuses every
//! plain key in `auth_publickey`, and leaves the decision on certificates to
//! [`check_certificate`] (`policy.rs`). Every refusal is logged and audited (`auth.failure`,
//! `T3007W`) with its reason and `kind`; a trusted cluster's user also gets a `role.mapping`
//! event (`T7300I`, or `T7300W` with the reason when refused). A genuine certificate that RBAC turns away
//! (no role, login not allowed, not bound to this cluster) is let in only to be told why: the
//! connection keeps its pre-authentication deadline, and its first session request gets the
//! reason (`launch.rs`).
//!
//! Session channels take `pty-req` (needs `permit-pty`), `window-change`, `env`
//! ([`session::allowed_env`]), `signal`, stdin with EOF, and one of `exec`, `shell` or
//! `subsystem sftp`; other subsystems and X11 are refused. Session channels are capped at
//! [`MAX_SESSIONS_PER_CONNECTION`], with the reason in the refusal (port forwards have a cap of
//! their own, `forward.rs`). Client data is never waited on here: it is
//! queued and the window shrinks instead (`inbound.rs`).

use tether_audit::{Event, Outcome};

use russh::keys::Certificate;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, Sig};
use serde_json::json;
use tether_shared::identity::Identity;

use super::conn::{ChannelState, Conn};
use super::forward::RESOURCE_SHORTAGE;
use super::launch::Launch;
use super::policy::{AuthRefusal, MAX_SESSIONS_PER_CONNECTION, check_certificate};
use super::signals::from_ssh_signal;
use crate::session::{self, Control, PtySpec, TermSize};

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn authentication_banner(&mut self) -> Result<Option<String>, Self::Error> {
        // Called when the client asks for the ssh-userauth service.
        self.progress().userauth_started = true;
        Ok(None)
    }

    async fn auth_none(&mut self, user: &str) -> Result<Auth, Self::Error> {
        // A method probe (OpenSSH sends it first), not a refusal worth auditing.
        self.progress().last_user = user.to_string();
        Ok(Auth::reject())
    }

    async fn auth_publickey_offered(&mut self, _user: &str, _offer: PublicKeyOffer<'_>) -> Result<Auth, Self::Error> {
        // The offer of a certificate arrives as its inner key: refusing here would break
        // certificate login. The decision is in auth_openssh_certificate / auth_publickey.
        Ok(Auth::Accept)
    }

    async fn auth_publickey(&mut self, user: &str, _key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        self.refuse(user, user, &AuthRefusal::PlainKey);
        Ok(Auth::reject())
    }

    async fn auth_openssh_certificate(&mut self, user: &str, certificate: &Certificate) -> Result<Auth, Self::Error> {
        match check_certificate(self.ctx.trust.as_ref(), user, certificate) {
            Ok(authed) => {
                tracing::info!(
                    peer = %self.peer,
                    user = %authed.identity.user,
                    login = user,
                    roles = ?authed.roles,
                    ca_cluster = %authed.ca_cluster,
                    "SSH authentication accepted"
                );
                if authed.ca_cluster != self.ctx.trust.cluster() {
                    self.audit_role_mapping(&authed.identity, &authed.ca_cluster, Ok(&authed.roles));
                }
                self.user = Some(authed);
                self.look_up_login();
                Ok(Auth::Accept)
            }
            Err(refusal) => {
                self.refuse(certificate.key_id(), user, &refusal);
                // A genuine certificate that RBAC turns away: let the user in far enough to
                // read why (on the first session request), as the audit log says.
                let reason = match &refusal {
                    AuthRefusal::NoRoles(none) => Some(none.to_string()),
                    AuthRefusal::Denied(reason) | AuthRefusal::NotBound(reason) => Some(reason.clone()),
                    _ => None,
                };
                if let Some(reason) = reason {
                    if let Ok(identity) = tether_shared::ssh_cert::inspect_user_cert(certificate)
                        && identity.cluster != self.ctx.trust.cluster()
                    {
                        let err: Result<&[String], &str> = Err(&reason);
                        self.audit_role_mapping(&identity, &identity.cluster, err);
                    }
                    self.denied = Some(format!("access denied to {user} on node {}: {reason}", self.ctx.node_name));
                    return Ok(Auth::Accept);
                }
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        // A connection let in only to be told it is denied keeps the authentication timer, which
        // closes it.
        if self.user.is_some() {
            let _ = self.authed_tx.send(true);
            self.gate.pass();
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.user.is_none() && self.denied.is_none() {
            reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
        } else if self.channels.len() >= MAX_SESSIONS_PER_CONNECTION {
            let reason = format!(
                "this connection already has {MAX_SESSIONS_PER_CONNECTION} sessions open (the node's MaxSessions); \
                 close one or open another connection"
            );
            reply.reject(ChannelOpenFailure::Other { code: RESOURCE_SHORTAGE, reason }).await;
        } else {
            // Requests and data arrive through the handler's callbacks, so the Channel object
            // itself is not needed (dropping it neither closes nor blocks the channel).
            self.channels.insert(channel.id(), ChannelState::default());
            reply.accept().await;
        }
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        originator_address: &str,
        originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.open_direct_tcpip(channel, host_to_connect, port_to_connect, originator_address, originator_port, reply)
            .await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(self.listen_remote_forward(address, port, session).await)
    }

    async fn cancel_tcpip_forward(
        &mut self,
        address: &str,
        port: u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(self.cancel_remote_forward(address, port))
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        pix_width: u32,
        pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let permitted = self.user.as_ref().is_some_and(|a| a.identity.permit_pty);
        let valid_term = term.len() <= 64 && !term.contains('\0');
        match self.channels.get_mut(&channel) {
            Some(state) if permitted && valid_term && !state.started && state.pty.is_none() => {
                let term = if term.is_empty() { "xterm".to_string() } else { term.to_string() };
                let size = TermSize::from_ssh(col_width, row_height, pix_width, pix_height);
                state.pty = Some(PtySpec { term, size });
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        col_width: u32,
        row_height: u32,
        pix_width: u32,
        pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(state) = self.channels.get_mut(&channel) {
            let size = TermSize::from_ssh(col_width, row_height, pix_width, pix_height);
            if let Some(pty) = state.pty.as_mut() {
                pty.size = size;
            }
            if let Some(running) = &state.running {
                let _ = running.control.send(Control::Resize(size));
            }
        }
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        variable_name: &str,
        variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(state)
                if !state.started
                    && state.env.len() < session::MAX_ENV_VARS
                    && session::allowed_env(variable_name)
                    && session::valid_env_value(variable_value) =>
            {
                state.env.push((variable_name.to_string(), variable_value.to_string()));
                session.channel_success(channel)
            }
            _ => {
                tracing::debug!(peer = %self.peer, "env request for {variable_name:?} refused");
                session.channel_failure(channel)
            }
        }
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match std::str::from_utf8(data) {
            Ok(command) if !command.contains('\0') => {
                self.start(channel, Launch::Exec(command.to_string()), session).await
            }
            _ => {
                tracing::info!(peer = %self.peer, "exec request refused: the command is not valid UTF-8 text");
                session.channel_failure(channel)
            }
        }
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        self.start(channel, Launch::Shell, session).await
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == "sftp" {
            return self.start(channel, Launch::Sftp, session).await;
        }
        tracing::info!(peer = %self.peer, "subsystem {name:?} refused: not supported");
        session.channel_failure(channel)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn agent_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<bool, Self::Error> {
        Ok(self.forward_agent(channel, session).await)
    }

    async fn signal(&mut self, channel: ChannelId, signal: Sig, _session: &mut Session) -> Result<(), Self::Error> {
        let running = self.channels.get(&channel).and_then(|s| s.running.as_ref());
        if let (Some(running), Some(sig)) = (running, from_ssh_signal(&signal)) {
            let _ = running.control.send(Control::Signal(sig));
        }
        Ok(())
    }

    async fn data(&mut self, channel: ChannelId, data: &[u8], _session: &mut Session) -> Result<(), Self::Error> {
        let Some(running) = self.channels.get(&channel).and_then(|s| s.running.as_ref()) else {
            return Ok(());
        };
        let Some(sender) = running.data.clone() else { return Ok(()) };
        // Never wait here: the loop must keep reading the client's window adjustments. Too much
        // waiting shrinks the window instead (inbound.rs). A send error means the process is
        // gone: the data is dropped.
        let _ = sender.send(running.queue.chunk(data.to_vec()));
        Ok(())
    }

    fn adjust_window(&mut self, _channel: ChannelId, _current: u32) -> u32 {
        self.throttle.window()
    }

    async fn channel_eof(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        if let Some(running) = self.channels.get_mut(&channel).and_then(|s| s.running.as_mut()) {
            running.data = None;
        }
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        // Dropping the state closes the process's inputs (it gets SIGHUP if still running) and
        // removes the agent socket.
        self.channels.remove(&channel);
        Ok(())
    }
}

impl Conn {
    /// Logs and audits a refused authentication (`auth.failure`), counted for the accept loop.
    fn refuse(&self, user: &str, login: &str, refusal: &AuthRefusal) {
        {
            let mut progress = self.progress();
            progress.refusals += 1;
            progress.last_user = user.to_string();
        }
        tracing::warn!(
            peer = %self.peer,
            node = %self.ctx.node_name,
            user,
            login,
            kind = refusal.kind(),
            "SSH authentication refused: {refusal}"
        );
        self.ctx.trust.audit(
            Event::AuthFailure,
            Outcome::Failure,
            user,
            json!({
                "login": login,
                "node": self.ctx.node_name,
                "remote_addr": self.peer.to_string(),
                "proxy_addr": self.via.map(|a| a.to_string()),
                "reason": refusal.to_string(),
                "kind": refusal.kind(),
            }),
        );
    }

    /// The role-mapping decision for a user of a trusted cluster: their remote roles and the
    /// local roles they mapped to (or why none did).
    fn audit_role_mapping(&self, identity: &Identity, ca_cluster: &str, mapped: Result<&[String], &str>) {
        let (outcome, local, error) = match mapped {
            Ok(roles) => (Outcome::Success, roles.to_vec(), None),
            Err(e) => (Outcome::Failure, Vec::new(), Some(e.to_string())),
        };
        self.ctx.trust.audit(
            Event::RoleMapping,
            outcome,
            &identity.user,
            json!({
                "node": self.ctx.node_name,
                "user_cluster": identity.cluster,
                "ca_cluster": ca_cluster,
                "remote_roles": identity.roles,
                "local_roles": local,
                "error": error,
                "remote_addr": self.peer.to_string(),
                "proxy_addr": self.via.map(|a| a.to_string()),
            }),
        );
    }
}
