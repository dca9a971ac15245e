//! What runs on a session channel: the login's shell, a command, or the SFTP server, started as
//! the login's Unix user (`session.rs`) once the channel asks (`shell`, `exec`,
//! `subsystem sftp`), with the PTY, environment and agent socket the channel set up before. The
//! process's output streams to the channel, then `exit-status` or `exit-signal`, EOF and close.
//! Audit: `session.start` and `session.end` (with exit code, signal and duration), `exec`
//! (`T3002E`) when the process cannot start, and each SFTP file operation (`sftp`, `T3004I`),
//! which the SFTP server reports as a JSON line on its stderr.
//!
//! A connection let in only to be told it is denied (see `handler.rs`) gets the reason on stderr
//! and exit status 1 at its first such request, and nothing runs.
//!
//! Agent forwarding (`auth-agent-req@openssh.com`) is granted before the session starts when the
//! certificate carries `permit-agent-forwarding` and a role sets `forward_agent`
//! ([`may_forward_agent`]); the socket itself is `agent.rs`.

use std::sync::Arc;
use tether_audit::Event;

use russh::ChannelId;
use russh::server::Session;
use serde_json::json;
use tokio::sync::mpsc;

use super::agent::agent_socket;
use super::conn::{Conn, RunningIo};
use super::policy::may_forward_agent;
use super::signals::to_ssh_signal;
use crate::inbound;
use crate::session::{self, Inputs, Outcome, SessionRequest};

/// What a session channel runs.
pub(super) enum Launch {
    /// The login's shell, interactive.
    Shell,
    /// A command through the login's shell.
    Exec(String),
    /// The SFTP server (`subsystem sftp`), as the login.
    Sftp,
}

impl Conn {
    /// Starts the channel's program (shell, exec or subsystem). Replies to the request itself.
    pub(super) async fn start(
        &mut self,
        channel: ChannelId,
        launch: Launch,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        let (command, program) = match launch {
            Launch::Shell => (None, None),
            Launch::Exec(command) => (Some(command), None),
            Launch::Sftp => (None, Some(session::Program::sftp_server())),
        };
        let sftp = program.is_some();
        let prepared = self.prepare_login().await;
        let Some(authed) = self.user.as_ref() else {
            if let Some(reason) = &self.denied {
                session.channel_success(channel)?;
                session.extended_data(channel, 1, format!("tether: {reason}\r\n").into_bytes())?;
                session.exit_status_request(channel, 1)?;
                session.eof(channel)?;
                return session.close(channel);
            }
            return session.channel_failure(channel);
        };
        let mut details = self.audit_details(authed);
        let Some(state) = self.channels.get_mut(&channel) else {
            return session.channel_failure(channel);
        };
        if state.started {
            return session.channel_failure(channel);
        }
        state.started = true;
        session.channel_success(channel)?;
        let req = SessionRequest {
            command: command.clone(),
            program,
            pty: state.pty.clone(),
            env: state.env.clone(),
            agent_socket: state.agent.as_ref().map(|a| a.socket.clone()),
            addresses: Some(session::Addresses { client: self.peer, server: self.local }),
        };
        if let Some(obj) = details.as_object_mut() {
            obj.insert("command".into(), json!(command));
            obj.insert("pty".into(), json!(req.pty.is_some() && !sftp));
            if sftp {
                obj.insert("subsystem".into(), json!("sftp"));
            }
        }
        let started = match prepared {
            Some(prepared) => prepared.and_then(|login| session::spawn_prepared(&login, &req)),
            None => Err(session::SessionError::Lookup {
                login: authed.login.clone(),
                node: self.ctx.node_name.clone(),
                reason: "not authenticated".into(),
            }),
        };
        let running = match started {
            Ok(running) => running,
            Err(e) => {
                tracing::warn!(peer = %self.peer, user = %authed.identity.user, login = %authed.login, "cannot start the session: {e}");
                if let Some(obj) = details.as_object_mut() {
                    obj.insert("error".into(), json!(e.to_string()));
                }
                self.ctx.trust.audit(Event::Exec, tether_audit::Outcome::Failure, &authed.identity.user, details);
                session.extended_data(channel, 1, e.client_message(req.pty.is_some()).into_bytes())?;
                session.exit_status_request(channel, 1)?;
                session.eof(channel)?;
                return session.close(channel);
            }
        };
        tracing::info!(peer = %self.peer, user = %authed.identity.user, login = %authed.login, pid = ?running.pid(), "session started");
        // The SFTP server reports each file operation on stderr: each becomes an audit event.
        let running = if sftp {
            let (ctx, user, base) = (self.ctx.clone(), authed.identity.user.clone(), details.clone());
            running.with_stderr_lines(Arc::new(move |line: String| {
                let Ok(serde_json::Value::Object(op)) = serde_json::from_str::<serde_json::Value>(&line) else {
                    tracing::debug!("sftp server: {line}");
                    return;
                };
                let mut event = base.clone();
                if let Some(obj) = event.as_object_mut() {
                    obj.remove("command");
                    obj.remove("pty");
                    for (key, value) in op {
                        if matches!(key.as_str(), "op" | "path" | "flags" | "to" | "target") {
                            obj.insert(key, value);
                        }
                    }
                }
                ctx.trust.audit(Event::Sftp, tether_audit::Outcome::Success, &user, event);
            }))
        } else {
            running
        };
        self.ctx.trust.audit(
            Event::SessionStart,
            tether_audit::Outcome::Success,
            &authed.identity.user,
            details.clone(),
        );

        let (data_tx, data_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let queue = inbound::Queue::new(&self.throttle);
        state.running = Some(RunningIo { data: Some(data_tx), queue, control: control_tx });
        let handle = session.handle();
        let ctx = self.ctx.clone();
        let user = authed.identity.user.clone();
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            let began = std::time::Instant::now();
            let inputs = Inputs { data: data_rx, control: control_rx };
            let outcome = running.run(handle.clone(), channel, inputs, shutdown).await;
            let _ = match &outcome {
                Outcome::Exited(code) => handle.exit_status_request(channel, *code).await,
                Outcome::Signaled { signal, core_dumped } => {
                    handle
                        .exit_signal_request(channel, to_ssh_signal(signal), *core_dumped, String::new(), String::new())
                        .await
                }
            };
            let _ = handle.eof(channel).await;
            let _ = handle.close(channel).await;
            if let Some(obj) = details.as_object_mut() {
                obj.insert("exit_code".into(), json!(outcome.exit_code()));
                if let Outcome::Signaled { signal, .. } = &outcome {
                    obj.insert("signal".into(), json!(signal));
                }
                obj.insert("duration_ms".into(), json!(u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)));
            }
            ctx.trust.audit(Event::SessionEnd, tether_audit::Outcome::Success, &user, details);
        });
        Ok(())
    }

    /// Sets up agent forwarding for `channel`'s session. Returns whether it was granted.
    pub(super) async fn forward_agent(&mut self, channel: ChannelId, session: &mut Session) -> bool {
        let prepared = self.look_up_login_now().await;
        let Some(authed) = self.user.as_ref() else { return false };
        let Some(state) = self.channels.get_mut(&channel) else { return false };
        if state.started || state.agent.is_some() {
            return false;
        }
        if !may_forward_agent(authed) {
            tracing::info!(peer = %self.peer, user = %authed.identity.user, "agent forwarding refused: the certificate or the roles do not allow it");
            return false;
        }
        let user = match prepared {
            Some(Ok(login)) => login.user,
            // The session itself reports this clearly when it starts.
            _ => return false,
        };
        match agent_socket(&user, session.handle(), &self.throttle, &mut self.tasks) {
            Ok(agent) => {
                state.agent = Some(agent);
                true
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, "cannot set up agent forwarding: {e}");
                false
            }
        }
    }
}
