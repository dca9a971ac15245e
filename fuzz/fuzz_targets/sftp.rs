//! The SFTP server's packet handling: the input is the byte stream a client sends (length-framed
//! SFTP packets, as the node relays them from the `sftp` subsystem), served by the node's own
//! `tether_node::sftp::serve` on an in-memory pipe, its answers read and dropped.
//!
//! The server works on the real file system, so the target first confines itself, for the rest
//! of the process, to a scratch directory: as root it drops to `nobody`, so that chmod, chown and
//! utimes reach only what the server itself creates; then a Landlock ruleset
//! denies every write, create, remove, rename and truncate outside the scratch directory and
//! libFuzzer's corpus and artifact directories. Without Landlock the target refuses to start.
//! Each input is served in an empty working directory, `/dev/shm/tether-fuzz-sftp/w` (also `~`), the
//! directory the seeds were recorded in (fuzz/seeds.py), so that their absolute paths mean the
//! same here; one sftp fuzzer runs at a time.
#![no_main]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The working directory of every input; fuzz/seeds.py records its sessions in it too.
const WORK: &str = "/dev/shm/tether-fuzz-sftp/w";
const NOBODY: u32 = 65534;

fn fail(what: &str) -> ! {
    eprintln!("fuzz target sftp: {what}");
    std::process::exit(1)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        confine();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| fail(&format!("no runtime: {e}")))
    })
}

/// The directories libFuzzer writes: corpus directories (its positional arguments) and the
/// artifact prefix's directory.
fn fuzzer_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for arg in std::env::args().skip(1) {
        let dir = match arg.strip_prefix("-artifact_prefix=") {
            Some(prefix) if prefix.ends_with('/') => PathBuf::from(prefix),
            Some(prefix) => Path::new(prefix).parent().map(Path::to_path_buf).unwrap_or_default(),
            None if arg.starts_with('-') => continue,
            None => PathBuf::from(arg),
        };
        if let Ok(dir) = std::fs::canonicalize(&dir) {
            if dir.is_dir() {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// Confines this process as the module documentation says; exits when it cannot.
fn confine() {
    let scratch = Path::new(WORK).parent().unwrap_or_else(|| fail("WORK has no parent"));
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", scratch.display())));
    let writable: Vec<PathBuf> = std::iter::once(scratch.to_path_buf()).chain(fuzzer_dirs()).collect();
    // SAFETY: plain system calls on this process's own credentials and descriptors.
    unsafe {
        // Reading stdin would wait for the terminal: /dev/stdin is a path like any other.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0 || libc::dup2(null, 0) < 0 {
            fail("cannot put /dev/null on stdin");
        }
        if libc::geteuid() == 0 {
            // The directories written stay root's, open to all like /tmp (sticky): the server,
            // as nobody, may create and remove its own files there but cannot chmod, chown or
            // take over the directories themselves (an input that made them unwritable would
            // stop the fuzzer, not find a bug).
            for dir in &writable {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))
                    .unwrap_or_else(|e| fail(&format!("cannot open up {}: {e}", dir.display())));
            }
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(NOBODY) != 0 || libc::setuid(NOBODY) != 0 {
                fail("cannot drop to nobody");
            }
            // A changed uid makes the process undumpable, which LeakSanitizer's tracer needs.
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        }
    }
    landlock(&writable);
}

/// Landlock: no writes beneath anything but `writable` (reads stay allowed everywhere).
fn landlock(writable: &[PathBuf]) {
    const WRITE_FILE: u64 = 1 << 1;
    // REMOVE_DIR .. MAKE_SYM: bits 4 to 12.
    const REMOVE_AND_MAKE: u64 = ((1 << 13) - 1) & !((1 << 4) - 1);
    const REFER: u64 = 1 << 13;
    const TRUNCATE: u64 = 1 << 14;
    const RULE_PATH_BENEATH: libc::c_int = 1;
    #[repr(C, packed)]
    struct PathBeneath {
        allowed_access: u64,
        parent_fd: i32,
    }
    // SAFETY: the Landlock system calls, with the structures their ABI defines.
    unsafe {
        let abi = libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u64>(), 0usize, 1u32);
        if abi < 1 {
            fail("Landlock is not available on this kernel: the target will not touch the file system unconfined");
        }
        let mut handled = WRITE_FILE | REMOVE_AND_MAKE;
        if abi >= 2 {
            handled |= REFER;
        }
        if abi >= 3 {
            handled |= TRUNCATE;
        }
        let ruleset =
            libc::syscall(libc::SYS_landlock_create_ruleset, &handled as *const u64, std::mem::size_of::<u64>(), 0u32);
        if ruleset < 0 {
            fail("landlock_create_ruleset failed");
        }
        for dir in writable {
            let path = CString::new(dir.as_os_str().as_bytes()).unwrap_or_else(|_| fail("NUL in a path"));
            let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
            if fd < 0 {
                fail(&format!("cannot open {}", dir.display()));
            }
            let rule = PathBeneath { allowed_access: handled, parent_fd: fd };
            if libc::syscall(libc::SYS_landlock_add_rule, ruleset, RULE_PATH_BENEATH, &rule as *const PathBeneath, 0u32)
                != 0
            {
                fail(&format!("landlock_add_rule failed for {}", dir.display()));
            }
            libc::close(fd);
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) != 0
        {
            fail("landlock_restrict_self failed");
        }
        libc::close(ruleset as i32);
    }
    // Proof that the confinement holds before any input runs.
    if std::fs::write("/dev/shm/tether-fuzz-sftp-escape", b"").is_ok() {
        let _ = std::fs::remove_file("/dev/shm/tether-fuzz-sftp-escape");
        fail("Landlock did not confine writes");
    }
}

/// An empty working directory, whatever the last input left in it or at its path (a file, a
/// symlink, a directory it made unreadable; the old one may also have been renamed away).
fn fresh_work() -> PathBuf {
    let work = PathBuf::from(WORK);
    if std::fs::symlink_metadata(&work).is_ok_and(|m| !m.is_dir()) {
        let _ = std::fs::remove_file(&work);
    } else if std::fs::remove_dir_all(&work).is_err() {
        // A directory the last input made unreadable or unwritable: open it up and retry.
        let mut stack = vec![work.clone()];
        while let Some(dir) = stack.pop() {
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(entry.path());
                }
            }
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    std::fs::create_dir(&work).unwrap_or_else(|e| fail(&format!("cannot create {WORK}: {e}")));
    std::env::set_current_dir(&work).unwrap_or_else(|e| fail(&format!("cannot enter {WORK}: {e}")));
    work
}

/// The directory the fuzzer started in: its relative corpus paths are relative to it.
fn start_dir() -> &'static Path {
    static START: OnceLock<PathBuf> = OnceLock::new();
    START.get_or_init(|| std::env::current_dir().unwrap_or_else(|e| fail(&format!("no working directory: {e}"))))
}

fuzz_target!(|data: &[u8]| {
    let start = start_dir();
    let runtime = runtime();
    let work = fresh_work();
    runtime.block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (server_in, server_out) = tokio::io::split(server);
        let (mut client_in, mut client_out) = tokio::io::split(client);
        let drain = tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = client_in.read_to_end(&mut sink).await;
        });
        let input = data.to_vec();
        let feed = tokio::spawn(async move {
            let _ = client_out.write_all(&input).await;
            let _ = client_out.shutdown().await;
        });
        tether_node::sftp::serve(server_in, server_out, work, Box::new(std::io::sink())).await;
        let _ = feed.await;
        drain.abort();
    });
    // libFuzzer saves new inputs after this returns, under its own (maybe relative) paths.
    std::env::set_current_dir(start).unwrap_or_else(|e| fail(&format!("cannot go back to {}: {e}", start.display())));
});
