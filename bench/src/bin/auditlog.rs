//! `auditlog`: writes a synthetic audit log for `bench/audit.sh` — realistic JSON lines (logins,
//! sessions, resource changes, denials, each a few hundred bytes) with times spread evenly over
//! the last days, oldest first, until the file reaches the asked size.
//!
//! `auditlog --out DATA_DIR/log/events.log --bytes 1073741824 [--cluster NAME] [--days 30]`

use std::io::{BufWriter, Write};

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The average line length the time step is planned with (the real one is printed).
const PLANNED_LINE_BYTES: u64 = 260;

struct Options {
    out: std::path::PathBuf,
    bytes: u64,
    cluster: String,
    days: i64,
}

fn options() -> Result<Options> {
    let mut out = None;
    let mut bytes = None;
    let mut cluster = "audit.bench".to_string();
    let mut days = 30;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => out = Some(value()?.into()),
            "--bytes" => bytes = Some(value()?.parse().context("--bytes: a number of bytes")?),
            "--cluster" => cluster = value()?,
            "--days" => days = value()?.parse().context("--days: a number of days")?,
            other => {
                bail!("unknown argument {other}; usage: auditlog --out FILE --bytes N [--cluster NAME] [--days D]")
            }
        }
    }
    Ok(Options {
        out: out.context("--out FILE is required")?,
        bytes: bytes.context("--bytes N is required")?,
        cluster,
        days,
    })
}

fn line(i: u64, time: &str, cluster: &str) -> String {
    let user = format!("user{:04}", i % 5000);
    let addr = format!("10.{}.{}.{}", (i >> 16) % 256, (i >> 8) % 256, i % 256);
    match i % 5 {
        0 => format!(
            r#"{{"addr":"{addr}","cluster":"{cluster}","code":"T1000I","event":"user.login","success":true,"time":"{time}","user":"{user}"}}"#
        ),
        1 => format!(
            r#"{{"addr":"{addr}","cluster":"{cluster}","code":"T1000W","error":"invalid user name or password","event":"user.login","success":false,"time":"{time}","user":"{user}"}}"#
        ),
        2 => format!(
            r#"{{"cluster":"{cluster}","code":"T2000I","command":"uptime && df -h /var/lib","event":"session.start","login":"ubuntu","node":"node-{n}","pty":false,"remote_addr":"{addr}:52{n:03}","success":true,"time":"{time}","user":"{user}"}}"#,
            n = i % 1000
        ),
        3 => format!(
            r#"{{"cluster":"{cluster}","code":"T2004I","duration_ms":{d},"event":"session.end","exit_code":0,"login":"ubuntu","node":"node-{n}","success":true,"time":"{time}","user":"{user}"}}"#,
            d = i % 100_000,
            n = i % 1000
        ),
        _ => format!(
            r#"{{"cluster":"{cluster}","code":"T9000W","event":"access.denied","reason":"role access does not allow verb create on kind role","resource":"role","success":false,"time":"{time}","user":"{user}","verb":"create"}}"#
        ),
    }
}

fn main() -> Result<()> {
    let opts = options()?;
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = std::fs::File::create(&opts.out).with_context(|| format!("cannot create {}", opts.out.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let now = OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let start = now - time::Duration::days(opts.days);
    let planned = (opts.bytes / PLANNED_LINE_BYTES).max(1);
    let step_ns = (now - start).whole_nanoseconds() / i128::from(planned);
    let (mut written, mut lines) = (0u64, 0u64);
    while written < opts.bytes {
        let offset = time::Duration::nanoseconds(i64::try_from(step_ns * i128::from(lines)).unwrap_or(i64::MAX));
        let t = (start + offset).min(now).format(&Rfc3339)?;
        let mut text = line(lines, &t, &opts.cluster);
        text.push('\n');
        out.write_all(text.as_bytes())?;
        written += text.len() as u64;
        lines += 1;
    }
    out.flush()?;
    println!("{lines} events, {written} bytes, {} bytes per line on average", written / lines.max(1));
    Ok(())
}
