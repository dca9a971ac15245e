//! `tsh scp [-r] [--cluster=C] SRC... DST`: copies files and directories between this machine
//! and one node, over the node's SFTP subsystem, through the proxy (and a leaf's tunnel).
//!
//! A remote location is `[LOGIN@]NODE:PATH` (a colon before any slash); a relative `PATH`, or
//! `~/PATH`, is in the login's home. Either every source is local and the target remote
//! (upload), or every source is on the same node and the target local (download). Directories
//! need `-r`; files and directories keep their permission bits. Reads and writes are pipelined
//! ([`IN_FLIGHT`] requests of [`CHUNK`] bytes), so a long path does not cost a round trip per
//! chunk. A progress bar per file is drawn on a terminal (never when stderr is piped, or with
//! `-q`). Errors name the path, local or `NODE:PATH`.

use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};
use tokio::task::JoinSet;

use crate::cli::Global;
use crate::context::NodeTarget;

/// Bytes per read or write request.
pub const CHUNK: u32 = 128 * 1024;
/// Requests outstanding at once, per file.
pub const IN_FLIGHT: usize = 16;
/// How long one SFTP request may take.
const REQUEST_TIMEOUT_SECS: u64 = 60;

/// A place to copy from or to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A path on this machine.
    Local(PathBuf),
    /// `[LOGIN@]NODE:PATH`.
    Remote {
        /// `LOGIN@NODE`, as given.
        destination: String,
        /// The path on the node ("" = the home).
        path: String,
    },
}

impl Location {
    /// Parses a command-line argument: remote when a colon comes before any slash.
    pub fn parse(arg: &str) -> Location {
        match arg.split_once(':') {
            Some((before, path)) if !before.is_empty() && !before.contains('/') => {
                let path = path.strip_prefix("~/").unwrap_or(if path == "~" { "" } else { path });
                Location::Remote { destination: before.to_string(), path: path.to_string() }
            }
            _ => Location::Local(PathBuf::from(arg)),
        }
    }
}

/// What the user asked for.
pub struct ScpRequest {
    /// The cluster of the node.
    pub cluster: Option<String>,
    /// The node's SSH port.
    pub port: u16,
    /// Copy directories.
    pub recursive: bool,
    /// No progress bars.
    pub quiet: bool,
    /// Sources and the target (the last).
    pub paths: Vec<String>,
}

/// The direction of a copy, with the node's `LOGIN@NODE`.
enum Plan {
    Upload { sources: Vec<PathBuf>, destination: String, target: String },
    Download { destination: String, sources: Vec<String>, target: PathBuf },
}

fn plan(paths: &[String]) -> Result<Plan> {
    let Some((last, sources)) = paths.split_last().filter(|(_, s)| !s.is_empty()) else {
        bail!("tsh scp needs at least one source and a target: tsh scp [-r] SRC... [LOGIN@]NODE:PATH");
    };
    let sources: Vec<Location> = sources.iter().map(|s| Location::parse(s)).collect();
    match Location::parse(last) {
        Location::Remote { destination, path } => {
            let mut local = Vec::new();
            for source in sources {
                match source {
                    Location::Local(p) => local.push(p),
                    Location::Remote { .. } => {
                        bail!("tsh scp copies between this machine and one node: both {last:?} and a source are remote")
                    }
                }
            }
            Ok(Plan::Upload { sources: local, destination, target: path })
        }
        Location::Local(target) => {
            let mut remote = Vec::new();
            let mut node: Option<String> = None;
            for source in sources {
                match source {
                    Location::Remote { destination, path } => {
                        if node.as_ref().is_some_and(|n| *n != destination) {
                            bail!(
                                "tsh scp copies from one node at a time: {} and {destination}",
                                node.unwrap_or_default()
                            );
                        }
                        node = Some(destination);
                        remote.push(path);
                    }
                    Location::Local(p) => bail!(
                        "tsh scp copies between this machine and a node: {} and {} are both local (write the node as [LOGIN@]NODE:PATH)",
                        p.display(),
                        target.display()
                    ),
                }
            }
            Ok(Plan::Download { destination: node.unwrap_or_default(), sources: remote, target })
        }
    }
}

/// Runs `tsh scp`.
pub async fn scp(global: &Global, req: ScpRequest) -> Result<()> {
    let plan = plan(&req.paths)?;
    let destination = match &plan {
        Plan::Upload { destination, .. } | Plan::Download { destination, .. } => destination.clone(),
    };
    let mut target = NodeTarget::resolve(global, req.cluster.as_deref(), None, &destination).await?;
    let connection = target.connect(global, req.port).await?;
    let channel = connection.node.channel_open_session().await.context("the node refused a session channel")?;
    channel.request_subsystem(true, "sftp").await.context("cannot start SFTP on the node")?;
    let sftp = RawSftpSession::new(channel.into_stream());
    sftp.set_timeout(REQUEST_TIMEOUT_SECS);
    tokio::time::timeout(std::time::Duration::from_secs(REQUEST_TIMEOUT_SECS), sftp.init())
        .await
        .map_err(|_| anyhow::anyhow!("the node's SFTP server did not answer"))?
        .map_err(|e| {
            anyhow::anyhow!("the node's SFTP server did not start: {e} (does the node run Tether with SFTP?)")
        })?;
    let copier = Copier {
        sftp: Arc::new(sftp),
        node: target.host.clone(),
        recursive: req.recursive,
        progress: !req.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let result = match plan {
        Plan::Upload { sources, target, .. } => copier.upload(&sources, &target).await,
        Plan::Download { sources, target, .. } => copier.download(&sources, &target).await,
    };
    connection.close().await;
    result
}

struct Copier {
    sftp: Arc<RawSftpSession>,
    node: String,
    recursive: bool,
    progress: bool,
}

fn join(dir: &str, name: &str) -> String {
    match dir {
        "" => name.to_string(),
        d if d.ends_with('/') => format!("{d}{name}"),
        d => format!("{d}/{name}"),
    }
}

fn base_name(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
}

fn is_dir(attrs: &FileAttributes) -> bool {
    attrs.permissions.is_some_and(|m| m & 0o170000 == 0o040000)
}

fn mode_only(mode: u32) -> FileAttributes {
    FileAttributes { permissions: Some(mode & 0o7777), ..FileAttributes::empty() }
}

impl Copier {
    /// `NODE:PATH: why`.
    fn remote_err(&self, path: &str, e: SftpError) -> anyhow::Error {
        let why = match e {
            SftpError::Status(status) => {
                // The node's messages start with the path already.
                let msg = status.error_message;
                msg.strip_prefix(&format!("{path}: ")).map(str::to_string).unwrap_or(msg)
            }
            other => other.to_string(),
        };
        anyhow::anyhow!("{}:{}: {why}", self.node, if path.is_empty() { "~" } else { path })
    }

    async fn remote_stat(&self, path: &str) -> Result<Option<FileAttributes>> {
        let query = if path.is_empty() { "." } else { path };
        match self.sftp.stat(query).await {
            Ok(attrs) => Ok(Some(attrs.attrs)),
            Err(SftpError::Status(s)) if s.status_code == StatusCode::NoSuchFile => Ok(None),
            Err(e) => Err(self.remote_err(path, e)),
        }
    }

    fn bar(&self, name: &str, len: u64) -> Option<indicatif::ProgressBar> {
        if !self.progress {
            return None;
        }
        let bar = indicatif::ProgressBar::new(len);
        let style = indicatif::ProgressStyle::with_template(
            "{msg:30!} {bytes:>10}/{total_bytes:<10} {bar:30} {bytes_per_sec:>12} {eta:>4}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(name.to_string());
        Some(bar)
    }

    async fn upload(&self, sources: &[PathBuf], target: &str) -> Result<()> {
        let target_dir = self.remote_stat(target).await?.is_some_and(|a| is_dir(&a));
        if sources.len() > 1 && !target_dir {
            bail!("{}:{target}: not a directory (copying {} sources)", self.node, sources.len());
        }
        for source in sources {
            let meta = std::fs::metadata(source).with_context(|| format!("{}", source.display()))?;
            let name = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| ".".into());
            let dest = if target_dir { join(target, &name) } else { target.to_string() };
            if meta.is_dir() {
                if !self.recursive {
                    bail!("{}: is a directory (use -r to copy it)", source.display());
                }
                Box::pin(self.upload_dir(source, &dest, meta.permissions().mode())).await?;
            } else {
                self.upload_file(source, &dest, meta.permissions().mode()).await?;
            }
        }
        Ok(())
    }

    /// Copies the directory `source` (permission bits `mode`) to `dest` on the node.
    async fn upload_dir(&self, source: &Path, dest: &str, mode: u32) -> Result<()> {
        match self.remote_stat(dest).await? {
            Some(attrs) if is_dir(&attrs) => {}
            Some(_) => bail!("{}:{dest}: exists and is not a directory", self.node),
            // Writable for now, so the copy can fill it; its own mode is set at the end.
            None => self.sftp.mkdir(dest, mode_only(0o700)).await.map(drop).map_err(|e| self.remote_err(dest, e))?,
        }
        let mut entries: Vec<_> = std::fs::read_dir(source)
            .with_context(|| format!("{}", source.display()))?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&path).with_context(|| format!("{}", path.display()))?;
            if meta.is_dir() {
                Box::pin(self.upload_dir(&path, &join(dest, &name), meta.permissions().mode())).await?;
            } else if meta.is_file() {
                self.upload_file(&path, &join(dest, &name), meta.permissions().mode()).await?;
            } else {
                eprintln!("tsh scp: {}: skipped (not a regular file or directory)", path.display());
            }
        }
        self.sftp.setstat(dest, mode_only(mode)).await.map_err(|e| self.remote_err(dest, e))?;
        Ok(())
    }

    async fn upload_file(&self, source: &Path, dest: &str, mode: u32) -> Result<()> {
        let file = std::fs::File::open(source).with_context(|| format!("{}", source.display()))?;
        let len = file.metadata().with_context(|| format!("{}", source.display()))?.len();
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE;
        let handle = self.sftp.open(dest, flags, mode_only(mode)).await.map_err(|e| self.remote_err(dest, e))?.handle;
        let bar = self.bar(&source.display().to_string(), len);
        let file = Arc::new(file);
        let mut writes = JoinSet::new();
        let mut offset = 0u64;
        let mut result = Ok(());
        while offset < len && result.is_ok() {
            if writes.len() >= IN_FLIGHT {
                result = self.written(writes.join_next().await, dest, bar.as_ref());
                continue;
            }
            let n = (len - offset).min(u64::from(CHUNK)) as usize;
            let mut buf = vec![0u8; n];
            let read = file.read_exact_at(&mut buf, offset);
            if let Err(e) = read {
                result = Err(anyhow::anyhow!("{}: {e}", source.display()));
                break;
            }
            let (sftp, handle) = (self.sftp.clone(), handle.clone());
            writes.spawn(async move { sftp.write(handle, offset, buf).await.map(|_| n as u64) });
            offset += n as u64;
        }
        while result.is_ok() && !writes.is_empty() {
            result = self.written(writes.join_next().await, dest, bar.as_ref());
        }
        writes.abort_all();
        let closed = self.sftp.close(handle).await.map_err(|e| self.remote_err(dest, e));
        if let Some(bar) = bar {
            bar.finish();
        }
        result?;
        closed?;
        // The node's umask may have narrowed the mode the file was created with.
        self.sftp.setstat(dest, mode_only(mode)).await.map_err(|e| self.remote_err(dest, e))?;
        Ok(())
    }

    fn written(
        &self,
        done: Option<Result<Result<u64, SftpError>, tokio::task::JoinError>>,
        dest: &str,
        bar: Option<&indicatif::ProgressBar>,
    ) -> Result<()> {
        match done {
            Some(Ok(Ok(n))) => {
                if let Some(bar) = bar {
                    bar.inc(n);
                }
                Ok(())
            }
            Some(Ok(Err(e))) => Err(self.remote_err(dest, e)),
            Some(Err(e)) => Err(anyhow::anyhow!("{}:{dest}: {e}", self.node)),
            None => Ok(()),
        }
    }

    async fn download(&self, sources: &[String], target: &Path) -> Result<()> {
        let target_dir = target.is_dir();
        if sources.len() > 1 && !target_dir {
            bail!("{}: not a directory (copying {} sources)", target.display(), sources.len());
        }
        for source in sources {
            let attrs = self.remote_stat(source).await?.ok_or_else(|| {
                anyhow::anyhow!(
                    "{}:{}: No such file or directory",
                    self.node,
                    if source.is_empty() { "~" } else { source }
                )
            })?;
            let name = match base_name(source) {
                "" | "." | ".." => ".".to_string(),
                n => n.to_string(),
            };
            let dest = if target_dir && name != "." { target.join(&name) } else { target.to_path_buf() };
            if is_dir(&attrs) {
                if !self.recursive {
                    bail!("{}:{source}: is a directory (use -r to copy it)", self.node);
                }
                Box::pin(self.download_dir(source, &dest, &attrs)).await?;
            } else {
                self.download_file(source, &dest, &attrs).await?;
            }
        }
        Ok(())
    }

    /// Copies the node's directory `source` (with `attrs`, as already read) to `dest`.
    async fn download_dir(&self, source: &str, dest: &Path, attrs: &FileAttributes) -> Result<()> {
        match std::fs::metadata(dest) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => bail!("{}: exists and is not a directory", dest.display()),
            Err(_) => std::fs::create_dir(dest).with_context(|| format!("{}", dest.display()))?,
        }
        let query = if source.is_empty() { "." } else { source };
        let handle = self.sftp.opendir(query).await.map_err(|e| self.remote_err(source, e))?.handle;
        let mut entries = Vec::new();
        loop {
            match self.sftp.readdir(handle.as_str()).await {
                Ok(name) => entries.extend(name.files),
                Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => break,
                Err(e) => {
                    let _ = self.sftp.close(handle.as_str()).await;
                    return Err(self.remote_err(source, e));
                }
            }
        }
        let _ = self.sftp.close(handle).await;
        entries.sort_by(|a, b| a.filename.cmp(&b.filename));
        for entry in entries {
            if entry.filename == "." || entry.filename == ".." {
                continue;
            }
            let remote = join(source, &entry.filename);
            let local = dest.join(&entry.filename);
            if is_dir(&entry.attrs) {
                Box::pin(self.download_dir(&remote, &local, &entry.attrs)).await?;
            } else if entry.attrs.permissions.is_some_and(|m| m & 0o170000 == 0o100000) {
                self.download_file(&remote, &local, &entry.attrs).await?;
            } else {
                eprintln!("tsh scp: {}:{remote}: skipped (not a regular file or directory)", self.node);
            }
        }
        if let Some(mode) = attrs.permissions {
            std::fs::set_permissions(dest, std::fs::Permissions::from_mode(mode & 0o7777))
                .with_context(|| format!("{}", dest.display()))?;
        }
        Ok(())
    }

    async fn download_file(&self, source: &str, dest: &Path, attrs: &FileAttributes) -> Result<()> {
        let handle = self
            .sftp
            .open(source, OpenFlags::READ, FileAttributes::empty())
            .await
            .map_err(|e| self.remote_err(source, e))?
            .handle;
        let file = std::fs::File::create(dest).with_context(|| format!("{}", dest.display()))?;
        let bar = self.bar(source, attrs.size.unwrap_or(0));
        let result = self.read_all(&handle, source, &file, dest, bar.as_ref()).await;
        let _ = self.sftp.close(handle).await;
        if let Some(bar) = bar {
            bar.finish();
        }
        result?;
        if let Some(mode) = attrs.permissions {
            std::fs::set_permissions(dest, std::fs::Permissions::from_mode(mode & 0o7777))
                .with_context(|| format!("{}", dest.display()))?;
        }
        Ok(())
    }

    /// Reads the whole remote file into `file` with [`IN_FLIGHT`] reads outstanding, until a read
    /// at or past the end says EOF.
    async fn read_all(
        &self,
        handle: &str,
        source: &str,
        file: &std::fs::File,
        dest: &Path,
        bar: Option<&indicatif::ProgressBar>,
    ) -> Result<()> {
        let mut reads = JoinSet::new();
        let (mut next, mut eof) = (0u64, false);
        loop {
            while !eof && reads.len() < IN_FLIGHT {
                let (sftp, handle, offset) = (self.sftp.clone(), handle.to_string(), next);
                reads.spawn(async move { (offset, sftp.read(handle, offset, CHUNK).await) });
                next += u64::from(CHUNK);
            }
            let Some(done) = reads.join_next().await else { return Ok(()) };
            let (offset, read) = done.map_err(|e| anyhow::anyhow!("{}:{source}: {e}", self.node))?;
            match read {
                Ok(data) => {
                    file.write_all_at(&data.data, offset).with_context(|| format!("{}", dest.display()))?;
                    if let Some(bar) = bar {
                        bar.inc(data.data.len() as u64);
                    }
                    // A short read: the rest of this chunk comes in another request.
                    let n = data.data.len() as u64;
                    if n < u64::from(CHUNK) && n > 0 {
                        let (sftp, handle, at) = (self.sftp.clone(), handle.to_string(), offset + n);
                        let want = CHUNK - n as u32;
                        reads.spawn(async move { (at, sftp.read(handle, at, want).await) });
                    }
                }
                Err(SftpError::Status(s)) if s.status_code == StatusCode::Eof => eof = true,
                Err(e) => {
                    reads.abort_all();
                    return Err(self.remote_err(source, e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_like_scp() {
        assert_eq!(
            Location::parse("visitor@node:dir/f"),
            Location::Remote { destination: "visitor@node".into(), path: "dir/f".into() }
        );
        assert_eq!(Location::parse("node:"), Location::Remote { destination: "node".into(), path: "".into() });
        assert_eq!(Location::parse("node:~/x"), Location::Remote { destination: "node".into(), path: "x".into() });
        assert_eq!(Location::parse("./a:b"), Location::Local(PathBuf::from("./a:b")));
        assert_eq!(Location::parse("/tmp/x"), Location::Local(PathBuf::from("/tmp/x")));
        assert_eq!(Location::parse(":x"), Location::Local(PathBuf::from(":x")));
    }

    #[test]
    fn plans_refuse_two_remote_ends_and_two_local_ends() {
        let paths = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches!(plan(&paths(&["a", "b", "n:d"])), Ok(Plan::Upload { .. })));
        assert!(matches!(plan(&paths(&["n:a", "n:b", "d"])), Ok(Plan::Download { .. })));
        let both = plan(&paths(&["n:a", "m:b"])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(both.contains("both"), "{both}");
        let local = plan(&paths(&["a", "b"])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(local.contains("both local"), "{local}");
        let two_nodes = plan(&paths(&["n:a", "m:b", "d"])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(two_nodes.contains("one node at a time"), "{two_nodes}");
        assert!(plan(&paths(&["only"])).is_err());
    }
}
