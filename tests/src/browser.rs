//! A real headless Chromium for the web UI's tests, driven over WebDriver (the W3C protocol,
//! JSON over HTTP) through Debian's `chromedriver`, with a client small enough to read: start,
//! go to a page, find elements by CSS, type, press keys, click, read text, wait for a
//! condition, quit. [`Kind::Firefox`] drives a headless Firefox (Debian's `firefox-esr`)
//! through `geckodriver` instead (not packaged by Debian: `cargo install geckodriver`; `.ci/run`
//! installs both). The driver listens on 127.0.0.1 only and is killed when the [`Browser`] is
//! dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Which browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Debian's `chromium` through `chromedriver`.
    Chromium,
    /// Debian's `firefox-esr` through `geckodriver`.
    Firefox,
}

/// One headless browser session.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    kind: Kind,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// One WebDriver call: the answer's `value`, or the driver's error.
fn call(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_len, length) = loop {
        let n = tcp.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("chromedriver closed the connection".into());
        }
        raw.extend_from_slice(buf.get(..n).unwrap_or_default());
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(raw.get(..end).unwrap_or_default()).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while raw.len() < head_len + length {
        let n = tcp.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(raw.get(head_len..).unwrap_or_default()).into_owned();
    let answer: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    match value.get("error").and_then(Value::as_str) {
        Some(error) => Err(format!("{error}: {}", value.get("message").and_then(Value::as_str).unwrap_or_default())),
        None => Ok(value),
    }
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium.
    pub fn start() -> Browser {
        Browser::start_kind(Kind::Chromium)
    }

    /// Starts the driver and a headless browser of `kind` that accepts the proxy's self-signed
    /// certificate (the tests are about the UI, not the PKI).
    pub fn start_kind(kind: Kind) -> Browser {
        let port = free_port();
        let firefox = kind == Kind::Firefox;
        let mut driver = if firefox {
            Command::new("geckodriver")
                .args(["--host=127.0.0.1", &format!("--port={port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("geckodriver (cargo install geckodriver; .ci/run installs it) and firefox-esr")
        } else {
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver (Debian's chromium-driver; .ci/run installs it)")
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while call(port, "GET", "/status", None).is_err() {
            if Instant::now() >= deadline {
                // Not left running behind a failed test.
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver did not start");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = if firefox {
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "firefox",
                "acceptInsecureCerts": true,
                "moz:firefoxOptions": {
                    "binary": "/usr/bin/firefox-esr",
                    "args": ["-headless", "--width=1280", "--height=900"]
                }
            }}})
        } else {
            json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--ignore-certificate-errors"]
            }
            }}})
        };
        let session = match call(port, "POST", "/session", Some(&caps)) {
            Ok(session) => session["sessionId"].as_str().unwrap_or_default().to_string(),
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("no Chromium session: {e}");
            }
        };
        Browser { driver, port, session, kind }
    }

    fn session_call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        call(self.port, method, &format!("/session/{}{path}", self.session), body)
    }

    /// Goes to `url`.
    pub fn go(&self, url: &str) {
        self.session_call("POST", "/url", Some(&json!({"url": url}))).expect("navigate");
    }

    /// The first element matching `css`, if any.
    pub fn find(&self, css: &str) -> Option<String> {
        match self.session_call("POST", "/element", Some(&json!({"using": "css selector", "value": css}))) {
            Ok(found) => Some(
                found
                    .get(ELEMENT)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| panic!("WebDriver: an element without a reference: {found}")),
            ),
            Err(e) if e.starts_with("no such element") => None,
            Err(e) => panic!("WebDriver: finding {css}: {e}"),
        }
    }

    /// Waits up to `timeout` for an element matching `css` whose text satisfies `ok`; returns
    /// its text, or panics with the last text seen.
    pub fn wait_text(&self, css: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("(no such element)");
        loop {
            if let Some(el) = self.find(css) {
                last = self.text(&el);
                if ok(&last) {
                    return last;
                }
            }
            assert!(Instant::now() < deadline, "{css}: not as expected within {timeout:?}; last: {last:?}");
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Types `text` into element `el`.
    pub fn type_into(&self, el: &str, text: &str) {
        self.session_call("POST", &format!("/element/{el}/value"), Some(&json!({"text": text}))).expect("type");
    }

    /// Clicks element `el`.
    pub fn click(&self, el: &str) {
        self.session_call("POST", &format!("/element/{el}/click"), Some(&json!({}))).expect("click");
    }

    /// Clicks the first element matching `css`, waiting up to `timeout` for one that stays put
    /// long enough to be clicked (a page that re-renders a list replaces its elements).
    pub fn click_css(&self, css: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.find(css) {
                Some(el) => match self.session_call("POST", &format!("/element/{el}/click"), Some(&json!({}))) {
                    Ok(_) => return,
                    Err(e) if e.starts_with("stale element") => e,
                    Err(e) => panic!("click {css}: {e}"),
                },
                None => "no such element".to_string(),
            };
            assert!(Instant::now() < deadline, "{css}: not clickable within {timeout:?}: {last}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Element `el`'s visible text.
    pub fn text(&self, el: &str) -> String {
        self.session_call("GET", &format!("/element/{el}/text"), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// A PNG of the page, saved at `docs/screenshots/NAME.png` when `TETHER_BLESS=1` (how the
    /// committed screenshots are made); otherwise only taken, so that the call is exercised.
    pub fn screenshot(&self, name: &str) {
        let shot = self.session_call("GET", "/screenshot", None).expect("a screenshot");
        let png = decode_base64(shot.as_str().unwrap_or_default());
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        // The committed screenshots are Chromium's.
        if std::env::var_os("TETHER_BLESS").is_some() && self.kind == Kind::Chromium {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
            std::fs::create_dir_all(&dir).expect("docs/screenshots");
            std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
        }
    }

    /// Presses and releases each character of `text` in turn on whatever has the focus, as a
    /// keyboard would (WebDriver key actions); [`keys`] names the special keys.
    pub fn keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]
            })
            .collect();
        self.key_actions(actions);
    }

    /// Holds `modifier` (such as [`keys::SHIFT`]) while pressing `key`.
    pub fn chord(&self, modifier: &str, key: &str) {
        self.key_actions(vec![
            json!({"type": "keyDown", "value": modifier}),
            json!({"type": "keyDown", "value": key}),
            json!({"type": "keyUp", "value": key}),
            json!({"type": "keyUp", "value": modifier}),
        ]);
    }

    fn key_actions(&self, actions: Vec<Value>) {
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.session_call("POST", "/actions", Some(&body)).expect("key actions");
    }

    /// What has the focus: its id; or, in a table row, the row's `data-` value and the
    /// element's text (`root.example.com:Nodes`); or its tag and class.
    pub fn focused(&self) -> String {
        let script = "const a = document.activeElement; if (!a) return '';
            if (a.id) return a.id;
            const row = a.closest('tr');
            if (row) return `${Object.values(row.dataset)[0]}:${a.textContent}`;
            return `${a.tagName.toLowerCase()}.${a.className}`;";
        self.script(script).as_str().unwrap_or_default().to_string()
    }

    /// Presses Tab until `wanted` has the focus ([`Browser::focused`]); panics after 40 presses
    /// with what had it.
    pub fn tab_to(&self, wanted: &str) {
        let mut seen = Vec::new();
        for _ in 0..40 {
            let now = self.focused();
            if now == wanted {
                return;
            }
            seen.push(now);
            self.keys(keys::TAB);
        }
        panic!("Tab never reached {wanted}; it went through {seen:?}");
    }

    /// Resizes the browser's window to `width` × `height` CSS pixels.
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.session_call("POST", "/window/rect", Some(&json!({"width": width, "height": height})))
            .expect("resize the window");
    }

    /// Runs `script` in the page and returns its value.
    pub fn script(&self, script: &str) -> Value {
        self.session_call("POST", "/execute/sync", Some(&json!({"script": script, "args": []}))).unwrap_or(Value::Null)
    }
}

/// WebDriver's codes for special keys, for [`Browser::keys`] and [`Browser::chord`].
pub mod keys {
    /// Tab.
    pub const TAB: &str = "\u{E004}";
    /// Enter.
    pub const ENTER: &str = "\u{E007}";
    /// Shift.
    pub const SHIFT: &str = "\u{E008}";
    /// F10.
    pub const F10: &str = "\u{E03A}";
}

/// Standard base64 (WebDriver's screenshots), padding and line breaks ignored.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = call(self.port, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
