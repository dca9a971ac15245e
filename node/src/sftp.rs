//! The SFTP server behind the node's `sftp` subsystem (`tether sftp-server`).
//!
//! The node never serves files itself: for `subsystem sftp` it starts this binary again, as the
//! login, the way it starts a shell (same credentials switch between fork and exec, same
//! environment and home directory), and relays the channel to its stdin and stdout. So every
//! file operation runs with exactly the login's permissions. The protocol (SFTP version 3, as
//! OpenSSH speaks it) is russh-sftp's; this file maps it onto the file system, plus the OpenSSH
//! extensions its clients rely on: `expand-path@openssh.com` (`scp` resolves `~` with it),
//! `posix-rename@openssh.com`, `fsync@openssh.com` and `limits@openssh.com`.
//!
//! Each operation that opens, creates, changes or removes something is reported on stderr as
//! one JSON line (`{"op":…,"path":…}`) before it runs; the node turns those lines into audit
//! events. Requests are served one at a time, open handles are capped at [`MAX_HANDLES`] and a
//! read returns at most [`MAX_READ`] bytes.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use russh_sftp::protocol::{
    Attrs, Data, ExtendedReply, File as Entry, FileAttributes, Handle, Name, OpenFlags, Packet, Status, StatusCode,
    Version,
};
use russh_sftp::server::StatusReply;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Open files and directories one client may hold.
pub const MAX_HANDLES: usize = 1024;
/// The most bytes one read returns.
pub const MAX_READ: u32 = 256 * 1024;
/// The largest request packet accepted (a write of [`MAX_READ`] plus headers).
pub const MAX_PACKET: u32 = MAX_READ + 1024;
/// Directory entries returned per `readdir` answer.
const DIR_BATCH: usize = 128;

/// Serves SFTP on stdin and stdout until the client hangs up; returns the process's exit code.
/// Relative paths are the process's working directory's, `~` is `$HOME`, and operations are
/// reported on stderr.
pub fn serve_stdio() -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tether sftp-server: cannot start: {e}");
            return 1;
        }
    };
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
    runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout(), home, Box::new(std::io::stderr())));
    0
}

/// Serves SFTP requests read from `input`, answering on `output`, until `input` ends or either
/// side fails; each operation is reported to `reports` as one JSON line before it runs. Must be
/// called within a tokio runtime. [`serve_stdio`] is this on stdin and stdout; the fuzz target
/// `sftp` (fuzz/) is this on an in-memory pipe.
pub async fn serve<R, W>(input: R, output: W, home: PathBuf, reports: Box<dyn Write + Send>)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let done = Arc::new(tokio::sync::Notify::new());
    let ends = Ends { input, output, ended: Arc::default(), done: done.clone() };
    let config = russh_sftp::server::Config { max_client_packet_len: MAX_PACKET };
    russh_sftp::server::run_with_config(ends, Fs::new(home, reports), config).await;
    // Requests are answered in order, so when the input ends every answer is written.
    done.notified().await;
}

/// The two directions as one stream that ends for good at the first EOF or error either way
/// (the protocol loop would otherwise retry a broken pipe forever).
struct Ends<R, W> {
    input: R,
    output: W,
    ended: Arc<AtomicBool>,
    done: Arc<tokio::sync::Notify>,
}

impl<R, W> Ends<R, W> {
    fn end(&self) {
        self.ended.store(true, Ordering::Release);
        self.done.notify_one();
    }
}

impl<R: AsyncRead + Unpin, W: Unpin> AsyncRead for Ends<R, W> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.ended.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.input).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before => {
                self.end();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(_)) => {
                self.end();
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<R: Unpin, W: AsyncWrite + Unpin> AsyncWrite for Ends<R, W> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.output).poll_write(cx, buf);
        if let Poll::Ready(Err(_)) = &polled {
            self.end();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.output).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.output).poll_shutdown(cx)
    }
}

/// Why an operation failed, as the client is told.
#[derive(Debug)]
pub struct Failed(StatusReply);

impl From<Failed> for StatusReply {
    fn from(failed: Failed) -> StatusReply {
        failed.0
    }
}

impl Failed {
    fn code(code: StatusCode, message: impl Into<String>) -> Failed {
        Failed(code.with_message(message))
    }

    /// An I/O error about `path`, with the code OpenSSH would send.
    fn io(e: &std::io::Error, path: &Path) -> Failed {
        let code = match e.kind() {
            ErrorKind::NotFound => StatusCode::NoSuchFile,
            ErrorKind::PermissionDenied => StatusCode::PermissionDenied,
            ErrorKind::UnexpectedEof => StatusCode::Eof,
            _ => StatusCode::Failure,
        };
        Failed::code(code, format!("{}: {e}", path.display()))
    }
}

enum Open {
    File { file: File, path: PathBuf },
    Dir { path: PathBuf, entries: Option<std::vec::IntoIter<Entry>> },
}

/// The file system as the login sees it.
struct Fs {
    handles: HashMap<String, Open>,
    next: u64,
    home: PathBuf,
    reports: Box<dyn Write + Send>,
}

fn ok(id: u32) -> Status {
    Status { id, status_code: StatusCode::Ok, error_message: "Ok".into(), language_tag: "en-US".into() }
}

/// A path without `.` and `..`, made absolute against `base` (no symlinks resolved).
fn normalize(base: &Path, path: &Path) -> PathBuf {
    let mut out = if path.is_absolute() { PathBuf::from("/") } else { base.to_path_buf() };
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Reads one SSH string (u32 length, bytes) from `data`.
fn ssh_string(data: &[u8]) -> Option<(String, &[u8])> {
    let len = u32::from_be_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let bytes = data.get(4..4 + len)?;
    Some((String::from_utf8_lossy(bytes).into_owned(), data.get(4 + len..)?))
}

fn attrs_of(meta: &fs::Metadata) -> FileAttributes {
    let mut attrs = FileAttributes::from(meta);
    // Keep the real file type bits (symlinks, sockets), not just "dir or regular".
    attrs.permissions = Some(std::os::unix::fs::MetadataExt::mode(meta));
    attrs
}

impl Fs {
    fn new(home: PathBuf, reports: Box<dyn Write + Send>) -> Fs {
        Fs { handles: HashMap::new(), next: 1, home, reports }
    }

    /// Reports an operation for the node's audit log (stderr, which the node reads).
    fn report(&mut self, op: &str, path: &Path, extra: Option<(&str, String)>) {
        let mut event = serde_json::json!({"op": op, "path": path.to_string_lossy()});
        if let (Some((key, value)), Some(obj)) = (extra, event.as_object_mut()) {
            obj.insert(key.into(), value.into());
        }
        let _ = writeln!(self.reports, "{event}");
    }

    fn path(&self, path: &str) -> PathBuf {
        if path.is_empty() { self.home.clone() } else { PathBuf::from(path) }
    }

    fn insert(&mut self, open: Open) -> Result<String, Failed> {
        if self.handles.len() >= MAX_HANDLES {
            return Err(Failed::code(StatusCode::Failure, format!("more than {MAX_HANDLES} open handles")));
        }
        let handle = self.next.to_string();
        self.next += 1;
        self.handles.insert(handle.clone(), open);
        Ok(handle)
    }

    fn file(&self, handle: &str) -> Result<(&File, &Path), Failed> {
        match self.handles.get(handle) {
            Some(Open::File { file, path }) => Ok((file, path)),
            _ => Err(Failed::code(StatusCode::Failure, format!("no open file with handle {handle:?}"))),
        }
    }

    fn set_attrs(path: &Path, file: Option<&File>, attrs: &FileAttributes) -> Result<(), Failed> {
        if let Some(size) = attrs.size {
            let truncated = match file {
                Some(f) => f.set_len(size),
                None => OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(size)),
            };
            truncated.map_err(|e| Failed::io(&e, path))?;
        }
        if let Some(mode) = attrs.permissions {
            fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777)).map_err(|e| Failed::io(&e, path))?;
        }
        if let (Some(atime), Some(mtime)) = (attrs.atime, attrs.mtime) {
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(atime));
            let mt = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(mtime));
            let times = fs::FileTimes::new().set_accessed(at).set_modified(mt);
            let set = match file {
                Some(f) => f.set_times(times),
                None => File::options()
                    .write(true)
                    .open(path)
                    .or_else(|_| File::open(path))
                    .and_then(|f| f.set_times(times)),
            };
            set.map_err(|e| Failed::io(&e, path))?;
        }
        if attrs.uid.is_some() || attrs.gid.is_some() {
            let (uid, gid) = (attrs.uid, attrs.gid);
            std::os::unix::fs::chown(path, uid, gid).map_err(|e| Failed::io(&e, path))?;
        }
        Ok(())
    }
}

impl russh_sftp::server::Handler for Fs {
    type Error = Failed;

    fn unimplemented(&self) -> Failed {
        Failed::code(StatusCode::OpUnsupported, "not supported by this server")
    }

    async fn init(&mut self, _version: u32, _extensions: HashMap<String, String>) -> Result<Version, Failed> {
        let mut version = Version::new();
        for (name, rev) in [
            ("posix-rename@openssh.com", "1"),
            ("fsync@openssh.com", "1"),
            ("limits@openssh.com", "1"),
            ("expand-path@openssh.com", "1"),
        ] {
            version.extensions.insert(name.into(), rev.into());
        }
        Ok(version)
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        attrs: FileAttributes,
    ) -> Result<Handle, Failed> {
        let path = self.path(&filename);
        let mut how = Vec::new();
        let mut options = OpenOptions::new();
        options.read(pflags.contains(OpenFlags::READ));
        options.write(pflags.contains(OpenFlags::WRITE) || pflags.contains(OpenFlags::APPEND));
        options.append(pflags.contains(OpenFlags::APPEND));
        if pflags.contains(OpenFlags::CREATE) {
            if pflags.contains(OpenFlags::EXCLUDE) {
                options.create_new(true);
            } else {
                options.create(true);
            }
            how.push("create");
        }
        options.truncate(pflags.contains(OpenFlags::TRUNCATE));
        options.mode(attrs.permissions.map_or(0o666, |m| m & 0o7777));
        for (flag, word) in [
            (OpenFlags::READ, "read"),
            (OpenFlags::WRITE, "write"),
            (OpenFlags::APPEND, "append"),
            (OpenFlags::TRUNCATE, "truncate"),
        ] {
            if pflags.contains(flag) {
                how.push(word);
            }
        }
        self.report("open", &path, Some(("flags", how.join(","))));
        let file = options.open(&path).map_err(|e| Failed::io(&e, &path))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Failed::code(StatusCode::Failure, format!("{} is a directory", path.display())));
        }
        let handle = self.insert(Open::File { file, path })?;
        Ok(Handle { id, handle })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, Failed> {
        match self.handles.remove(&handle) {
            Some(_) => Ok(ok(id)),
            None => Err(Failed::code(StatusCode::Failure, format!("no open handle {handle:?}"))),
        }
    }

    async fn read(&mut self, id: u32, handle: String, offset: u64, len: u32) -> Result<Data, Failed> {
        let (file, path) = self.file(&handle)?;
        let mut data = vec![0u8; len.min(MAX_READ) as usize];
        let n = file.read_at(&mut data, offset).map_err(|e| Failed::io(&e, path))?;
        if n == 0 && !data.is_empty() {
            return Err(Failed::code(StatusCode::Eof, "end of file"));
        }
        data.truncate(n);
        Ok(Data { id, data })
    }

    async fn write(&mut self, id: u32, handle: String, offset: u64, data: Vec<u8>) -> Result<Status, Failed> {
        let (file, path) = self.file(&handle)?;
        file.write_all_at(&data, offset).map_err(|e| Failed::io(&e, path))?;
        Ok(ok(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, Failed> {
        let path = self.path(&path);
        let meta = fs::symlink_metadata(&path).map_err(|e| Failed::io(&e, &path))?;
        Ok(Attrs { id, attrs: attrs_of(&meta) })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, Failed> {
        let path = self.path(&path);
        let meta = fs::metadata(&path).map_err(|e| Failed::io(&e, &path))?;
        Ok(Attrs { id, attrs: attrs_of(&meta) })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, Failed> {
        let (file, path) = self.file(&handle)?;
        let meta = file.metadata().map_err(|e| Failed::io(&e, path))?;
        Ok(Attrs { id, attrs: attrs_of(&meta) })
    }

    async fn setstat(&mut self, id: u32, path: String, attrs: FileAttributes) -> Result<Status, Failed> {
        let path = self.path(&path);
        self.report("setstat", &path, None);
        Fs::set_attrs(&path, None, &attrs)?;
        Ok(ok(id))
    }

    async fn fsetstat(&mut self, id: u32, handle: String, attrs: FileAttributes) -> Result<Status, Failed> {
        let (file, path) = self.file(&handle)?;
        Fs::set_attrs(path, Some(file), &attrs)?;
        Ok(ok(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, Failed> {
        let path = self.path(&path);
        self.report("opendir", &path, None);
        if !fs::metadata(&path).map_err(|e| Failed::io(&e, &path))?.is_dir() {
            return Err(Failed::code(StatusCode::Failure, format!("{} is not a directory", path.display())));
        }
        let handle = self.insert(Open::Dir { path, entries: None })?;
        Ok(Handle { id, handle })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, Failed> {
        let Some(Open::Dir { path, entries }) = self.handles.get_mut(&handle) else {
            return Err(Failed::code(StatusCode::Failure, format!("no open directory with handle {handle:?}")));
        };
        if entries.is_none() {
            let mut all = Vec::new();
            for dot in [".", ".."] {
                if let Ok(meta) = fs::metadata(path.join(dot)) {
                    all.push(Entry::new(dot, attrs_of(&meta)));
                }
            }
            for entry in fs::read_dir(&*path).map_err(|e| Failed::io(&e, path))? {
                let Ok(entry) = entry else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Ok(meta) = fs::symlink_metadata(entry.path()) {
                    all.push(Entry::new(name, attrs_of(&meta)));
                }
            }
            *entries = Some(all.into_iter());
        }
        let batch: Vec<Entry> = entries.as_mut().map(|e| e.by_ref().take(DIR_BATCH).collect()).unwrap_or_default();
        if batch.is_empty() {
            return Err(Failed::code(StatusCode::Eof, "end of directory"));
        }
        Ok(Name { id, files: batch })
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, Failed> {
        let path = self.path(&filename);
        self.report("remove", &path, None);
        fs::remove_file(&path).map_err(|e| Failed::io(&e, &path))?;
        Ok(ok(id))
    }

    async fn mkdir(&mut self, id: u32, path: String, attrs: FileAttributes) -> Result<Status, Failed> {
        let path = self.path(&path);
        self.report("mkdir", &path, None);
        let mode = attrs.permissions.map_or(0o777, |m| m & 0o7777);
        std::fs::DirBuilder::new().mode(mode).create(&path).map_err(|e| Failed::io(&e, &path))?;
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, Failed> {
        let path = self.path(&path);
        self.report("rmdir", &path, None);
        fs::remove_dir(&path).map_err(|e| Failed::io(&e, &path))?;
        Ok(ok(id))
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, Failed> {
        let path = self.path(&path);
        let cwd = std::env::current_dir().unwrap_or_else(|_| self.home.clone());
        let real = fs::canonicalize(&path).unwrap_or_else(|_| normalize(&cwd, &path));
        Ok(Name { id, files: vec![Entry::dummy(real.to_string_lossy())] })
    }

    async fn rename(&mut self, id: u32, oldpath: String, newpath: String) -> Result<Status, Failed> {
        let (old, new) = (self.path(&oldpath), self.path(&newpath));
        self.report("rename", &old, Some(("to", new.to_string_lossy().into_owned())));
        // SFTP v3 rename must not replace an existing file (posix-rename@openssh.com does).
        if fs::symlink_metadata(&new).is_ok() {
            return Err(Failed::code(StatusCode::Failure, format!("{} already exists", new.display())));
        }
        fs::rename(&old, &new).map_err(|e| Failed::io(&e, &old))?;
        Ok(ok(id))
    }

    async fn readlink(&mut self, id: u32, path: String) -> Result<Name, Failed> {
        let path = self.path(&path);
        let target = fs::read_link(&path).map_err(|e| Failed::io(&e, &path))?;
        Ok(Name { id, files: vec![Entry::dummy(target.to_string_lossy())] })
    }

    async fn symlink(&mut self, id: u32, linkpath: String, targetpath: String) -> Result<Status, Failed> {
        // OpenSSH's clients send the arguments the other way round from the draft; so does
        // OpenSSH's server, which is what they are written against: the first is the target.
        let (target, link) = (PathBuf::from(linkpath), self.path(&targetpath));
        self.report("symlink", &link, Some(("target", target.to_string_lossy().into_owned())));
        std::os::unix::fs::symlink(&target, &link).map_err(|e| Failed::io(&e, &link))?;
        Ok(ok(id))
    }

    async fn extended(&mut self, id: u32, request: String, data: Vec<u8>) -> Result<Packet, Failed> {
        let bad = || Failed::code(StatusCode::BadMessage, format!("malformed {request} request"));
        match request.as_str() {
            "posix-rename@openssh.com" => {
                let (old, rest) = ssh_string(&data).ok_or_else(bad)?;
                let (new, _) = ssh_string(rest).ok_or_else(bad)?;
                let (old, new) = (self.path(&old), self.path(&new));
                self.report("rename", &old, Some(("to", new.to_string_lossy().into_owned())));
                fs::rename(&old, &new).map_err(|e| Failed::io(&e, &old))?;
                Ok(Packet::Status(ok(id)))
            }
            "fsync@openssh.com" => {
                let (handle, _) = ssh_string(&data).ok_or_else(bad)?;
                let (file, path) = self.file(&handle)?;
                file.sync_all().map_err(|e| Failed::io(&e, path))?;
                Ok(Packet::Status(ok(id)))
            }
            "limits@openssh.com" => {
                let mut reply = Vec::with_capacity(32);
                for value in [u64::from(MAX_PACKET), u64::from(MAX_READ), u64::from(MAX_READ), MAX_HANDLES as u64] {
                    reply.extend_from_slice(&value.to_be_bytes());
                }
                Ok(Packet::ExtendedReply(ExtendedReply { id, data: reply }))
            }
            "expand-path@openssh.com" => {
                let (path, _) = ssh_string(&data).ok_or_else(bad)?;
                let expanded = if path == "~" {
                    self.home.clone()
                } else if let Some(rest) = path.strip_prefix("~/") {
                    self.home.join(rest)
                } else if path.starts_with('~') {
                    return Err(Failed::code(
                        StatusCode::Failure,
                        format!("cannot expand {path:?}: only ~ and ~/ are supported"),
                    ));
                } else {
                    self.path(&path)
                };
                let cwd = std::env::current_dir().unwrap_or_else(|_| self.home.clone());
                let real = fs::canonicalize(&expanded).unwrap_or_else(|_| normalize(&cwd, &expanded));
                Ok(Packet::Name(Name { id, files: vec![Entry::dummy(real.to_string_lossy())] }))
            }
            _ => Err(self.unimplemented()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_without_escaping_the_root() {
        assert_eq!(normalize(Path::new("/home/a"), Path::new("x/../y/./z")), PathBuf::from("/home/a/y/z"));
        assert_eq!(normalize(Path::new("/home/a"), Path::new("/../../etc")), PathBuf::from("/etc"));
        assert_eq!(normalize(Path::new("/"), Path::new("..")), PathBuf::from("/"));
    }

    #[test]
    fn ssh_strings_parse_and_refuse_short_input() {
        let mut data = 3u32.to_be_bytes().to_vec();
        data.extend_from_slice(b"abcrest");
        assert_eq!(ssh_string(&data), Some(("abc".to_string(), &b"rest"[..])));
        assert_eq!(ssh_string(&[0, 0, 0, 9, b'a']), None);
        assert_eq!(ssh_string(&[0, 0]), None);
    }
}
