//! The small parsers of limits: Go-style durations (`1h30m`, `250ms`) and OpenSSH's
//! `MaxStartups` (`start:rate:full`), checked for round trips where they promise one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_edge::listen::MaxStartups;
use tether_shared::duration::GoDuration;

fuzz_target!(|text: &str| {
    if let Ok(d) = text.parse::<GoDuration>() {
        let _ = d.human();
        // What it prints, it reads back as the same duration.
        let again = d.to_string().parse::<GoDuration>().map(|g| g.0);
        assert_eq!(again.ok(), Some(d.0), "{text:?} printed as {d}");
    }
    if let Ok(m) = MaxStartups::parse(text) {
        assert!(m.start <= m.full && m.full > 0 && m.rate <= 100, "{text:?}: {m:?}");
    }
});
