//! `tsh ssh [LOGIN@]key=value[,key=value] COMMAND`: one command on every node whose labels
//! match all the pairs. This module owns reading the selector, choosing the nodes (the listing
//! `tsh ls` shows, so only nodes the user may log in to, in `--cluster`'s cluster), running the
//! command on them at most `--max-parallel` at a time (each in its own node session, no PTY, no
//! stdin), printing each output line whole with a `[NODE] ` prefix (stdout and stderr apart), and
//! the summary: failed nodes are listed on stderr and tsh exits 1 when any node failed (a
//! non-zero exit status, a signal, or no session at all), 0 when all succeeded.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Result, bail};
use russh::ChannelMsg;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

use crate::cli::Global;
use crate::context::{NodeAddress, default_login, list_nodes, live_credentials, split_destination, ssh_proxy};
use crate::ssh::Keys;

/// A line longer than this is printed in pieces of this size (each with the prefix).
const MAX_LINE: usize = 64 * 1024;

/// Whether a `tsh ssh` destination's host part is a label selector.
pub fn is_selector(destination: &str) -> bool {
    split_destination(destination).1.contains('=')
}

/// `key=value[,key=value]` → the pairs.
fn parse_selector(selector: &str) -> Result<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    for pair in selector.split(',') {
        match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                labels.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => bail!("bad label selector {selector:?}: expected key=value[,key=value]"),
        }
    }
    Ok(labels)
}

/// How one node's run ended.
enum Outcome {
    Exited(u32),
    Signaled(String),
    Failed(String),
}

/// Writes one node's stream to a shared output, whole lines at a time, each with the prefix.
struct Lines<W: AsyncWrite + Unpin> {
    prefix: String,
    pending: Vec<u8>,
    out: Arc<Mutex<W>>,
}

impl<W: AsyncWrite + Unpin> Lines<W> {
    fn new(node: &str, out: Arc<Mutex<W>>) -> Self {
        Lines { prefix: format!("[{node}] "), pending: Vec::new(), out }
    }

    /// Adds `data`; prints every complete line (and pieces of over-long ones).
    async fn push(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        let mut text = Vec::new();
        loop {
            let cut = match self.pending.iter().position(|b| *b == b'\n') {
                Some(i) if i < MAX_LINE => i + 1,
                _ if self.pending.len() >= MAX_LINE => MAX_LINE,
                _ => break,
            };
            let line: Vec<u8> = self.pending.drain(..cut).collect();
            text.extend_from_slice(self.prefix.as_bytes());
            text.extend_from_slice(&line);
            if line.last() != Some(&b'\n') {
                text.push(b'\n');
            }
        }
        self.write(&text).await;
    }

    /// Prints what is left, ended with a newline.
    async fn finish(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut text = self.prefix.as_bytes().to_vec();
        text.append(&mut self.pending);
        text.push(b'\n');
        self.write(&text).await;
    }

    async fn write(&self, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        let mut out = self.out.lock().await;
        let _ = out.write_all(text).await;
        let _ = out.flush().await;
    }
}

/// What every node's run shares.
struct Shared {
    proxy: String,
    keys: Keys,
    cluster: String,
    login: String,
    port: u16,
    command: String,
    stdout: Arc<Mutex<tokio::io::Stdout>>,
    stderr: Arc<Mutex<tokio::io::Stderr>>,
}

/// Runs the command on one node, printing its output as it comes.
async fn run_one(shared: &Shared, node: &str) -> Outcome {
    let connection =
        match crate::ssh::connect(&shared.proxy, &shared.keys, node, shared.port, &shared.cluster, &shared.login).await
        {
            Ok(connection) => connection,
            Err(e) => return Outcome::Failed(format!("{e:#}")),
        };
    let session = &connection.node;
    let outcome = async {
        let mut channel = match session.channel_open_session().await {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(format!("the node refused a session channel: {e}")),
        };
        if let Err(e) = channel.exec(true, shared.command.as_str()).await {
            return Outcome::Failed(format!("cannot start the command: {e}"));
        }
        let _ = channel.eof().await;
        let mut out = Lines::new(node, shared.stdout.clone());
        let mut err = Lines::new(node, shared.stderr.clone());
        let mut outcome = None;
        loop {
            match channel.wait().await {
                Some(ChannelMsg::Data { data }) => out.push(&data).await,
                Some(ChannelMsg::ExtendedData { data, .. }) => err.push(&data).await,
                Some(ChannelMsg::ExitStatus { exit_status }) => outcome = Some(Outcome::Exited(exit_status)),
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    outcome = Some(Outcome::Signaled(format!("{signal_name:?}")))
                }
                Some(ChannelMsg::Failure) => {
                    outcome = Some(Outcome::Failed("the node refused to run the command".into()));
                }
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            }
        }
        out.finish().await;
        err.finish().await;
        outcome.unwrap_or_else(|| Outcome::Failed("the session ended without an exit status".into()))
    }
    .await;
    connection.close().await;
    outcome
}

/// `tsh ssh [LOGIN@]key=value[,...] COMMAND`: returns tsh's exit code (1 when any node failed).
pub async fn run(global: &Global, node: NodeAddress<'_>, command: Vec<String>, max_parallel: usize) -> Result<i32> {
    let NodeAddress { destination, login, cluster, port } = node;
    let (dest_login, selector) = split_destination(destination);
    let labels = parse_selector(selector)?;
    if command.is_empty() {
        bail!(
            "{selector} selects nodes by label, which runs a command on each: give one (tsh ssh {destination} COMMAND); there is no interactive shell on many nodes"
        );
    }
    let (creds, insecure) = live_credentials(global)?;
    let leaf = crate::context::target(global, &creds, insecure, cluster).await?;
    let creds = crate::context::for_target(global, creds, insecure, leaf.as_ref()).await?;
    let cluster = leaf.as_ref().map_or_else(|| creds.cluster.clone(), |l| l.name.clone());
    let login = match login.or(dest_login) {
        Some(l) => l.to_string(),
        None => default_login(&creds)?,
    };
    let mut nodes: Vec<String> = list_nodes(&creds, insecure, leaf.as_ref())
        .await?
        .into_iter()
        .filter(|n| labels.iter().all(|(k, v)| n.metadata.labels.get(k) == Some(v)))
        .map(|n| n.metadata.name)
        .collect();
    nodes.sort();
    nodes.dedup();
    if nodes.is_empty() {
        bail!(
            "no node you may log in to in cluster {cluster} has the labels {selector} (tsh ls{} lists the nodes)",
            cluster_flag(leaf.is_some(), &cluster)
        );
    }
    let keys = match &leaf {
        Some(leaf) => Keys::from(&creds)?.for_leaf(leaf)?,
        None => Keys::from(&creds)?,
    };
    let shared = Arc::new(Shared {
        proxy: ssh_proxy(&creds, insecure).await?,
        keys,
        cluster,
        login,
        port,
        command: crate::ssh::shell_join(&command),
        stdout: Arc::new(Mutex::new(tokio::io::stdout())),
        stderr: Arc::new(Mutex::new(tokio::io::stderr())),
    });
    let slots = Arc::new(Semaphore::new(max_parallel.max(1)));
    let mut runs = JoinSet::new();
    for node in nodes.iter().cloned() {
        let (shared, slots) = (shared.clone(), slots.clone());
        runs.spawn(async move {
            let outcome = match slots.acquire_owned().await {
                Ok(_slot) => run_one(&shared, &node).await,
                Err(_) => Outcome::Failed("stopped".into()),
            };
            (node, outcome)
        });
    }
    let mut failed = Vec::new();
    while let Some(done) = runs.join_next().await {
        match done {
            Ok((_, Outcome::Exited(0))) => {}
            Ok((node, Outcome::Exited(code))) => failed.push(format!("{node} (exit code {code})")),
            Ok((node, Outcome::Signaled(signal))) => failed.push(format!("{node} (killed by signal {signal})")),
            Ok((node, Outcome::Failed(why))) => failed.push(format!("{node} ({why})")),
            Err(e) => failed.push(format!("a node's run failed: {e}")),
        }
    }
    if failed.is_empty() {
        return Ok(0);
    }
    failed.sort();
    let mut err = shared.stderr.lock().await;
    let summary = format!("tsh: {} of {} nodes failed: {}\n", failed.len(), nodes.len(), failed.join(", "));
    let _ = err.write_all(summary.as_bytes()).await;
    let _ = err.flush().await;
    Ok(1)
}

fn cluster_flag(leaf: bool, cluster: &str) -> String {
    if leaf { format!(" --cluster={cluster}") } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert!(is_selector("root@env=prod"));
        assert!(is_selector("env=prod,team=db"));
        assert!(!is_selector("root@node1"));
        let l = parse_selector("env=prod,team=db").unwrap();
        assert_eq!(l.get("env").map(String::as_str), Some("prod"));
        assert_eq!(l.len(), 2);
        assert!(parse_selector("env=prod,team").is_err());
        assert!(parse_selector("=x").is_err());
    }

    #[tokio::test]
    async fn lines_are_whole_and_prefixed() {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let mut lines = Lines::new("n1", out.clone());
        lines.push(b"hel").await;
        assert!(out.lock().await.is_empty(), "no partial line is printed");
        lines.push(b"lo\nwor").await;
        lines.push(b"ld\nlast").await;
        lines.finish().await;
        assert_eq!(String::from_utf8_lossy(&out.lock().await), "[n1] hello\n[n1] world\n[n1] last\n");
        let mut long = Lines::new("n2", out.clone());
        long.push(&vec![b'x'; MAX_LINE + 3]).await;
        long.finish().await;
        let text = out.lock().await.clone();
        assert_eq!(text.iter().filter(|b| **b == b'\n').count(), 5, "an over-long line is cut, bounded");
    }
}
