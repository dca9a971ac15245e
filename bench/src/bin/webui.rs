//! `webui`: how fast the web UI's landing page loads in a real headless Chromium from a warm
//! proxy on loopback (bench/webui.sh starts the proxy and makes the user).
//!
//! It sets the user's password from their invite in the page, then loads the page `--runs`
//! times and reads the browser's own Navigation Timing for each load: the document's response
//! end, its load event end (HTML, script, style and xterm.js all in), and the `tether:clusters`
//! mark the page sets when it first shows the clusters table (the session and cluster list
//! fetched). Target: the load event under 100 ms.
//!
//!   webui --addr 127.0.0.1:3080 --user alice --invite TOKEN --password PW [--runs 50]

use std::time::Duration;

use anyhow::{Context, Result, bail};
use tether_tests::browser::Browser;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut addr, mut user, mut invite, mut password, mut runs) = (None, None, None, None, 50usize);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => addr = Some(value),
            "--user" => user = Some(value),
            "--invite" => invite = Some(value),
            "--password" => password = Some(value),
            "--runs" => runs = value.parse().context("--runs")?,
            other => bail!("unknown flag {other}"),
        }
    }
    let (Some(addr), Some(user), Some(invite), Some(password)) = (addr, user, invite, password) else {
        bail!("usage: webui --addr HOST:PORT --user NAME --invite TOKEN --password PW [--runs N]");
    };
    let browser = Browser::start();
    browser.go(&format!("https://{addr}/#invite={invite}&user={user}"));
    browser.wait_text("#login-title", Duration::from_secs(10), |t| t == "Set your password");
    let field = browser.find("#password").context("the password field")?;
    browser.type_into(&field, &password);
    browser.click(&browser.find("#login-button").context("the button")?);
    browser.wait_text("#whoami", Duration::from_secs(10), |t| t.starts_with(&user));

    let url = format!("https://{addr}/");
    // Warm the proxy and the browser's connection once.
    browser.go(&url);
    let (mut response, mut load, mut shown) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        browser.go(&url);
        let timing = (0..200)
            .find_map(|_| {
                let t = browser.script(
                    "const n = performance.getEntriesByType('navigation')[0];
                     const m = performance.getEntriesByName('tether:clusters')[0];
                     return n && m && n.loadEventEnd > 0 ? [n.responseEnd, n.loadEventEnd, m.startTime] : null;",
                );
                let values: Option<Vec<f64>> = t.as_array().map(|a| a.iter().filter_map(|v| v.as_f64()).collect());
                if values.is_none() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                values
            })
            .context("the page never showed its clusters")?;
        if let [r, l, s] = timing.as_slice() {
            response.push(*r);
            load.push(*l);
            shown.push(*s);
        }
    }
    println!("| page load, warm proxy on loopback ({runs} loads, headless Chromium) | median | p90 | max |");
    println!("|---|---|---|---|");
    for (name, values) in [
        ("document received (`responseEnd`)", &mut response),
        ("**load event end** (HTML, script, style, xterm.js)", &mut load),
        ("clusters shown (`tether:clusters` mark: session and cluster list fetched)", &mut shown),
    ] {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values.get(((values.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
        println!("| {name} | {:.1} ms | {:.1} ms | {:.1} ms |", at(0.5), at(0.9), at(1.0));
    }
    Ok(())
}
