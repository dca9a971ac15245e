//! Printing: tables in the guide's plain style, expiry cells with the time left,
//! and invites.

use tether_shared::api::InviteResponse;
use time::OffsetDateTime;
use time::macros::format_description;

/// A plain table with a dashed rule under the header, like the guide's listings.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    tether_cli::table::render(header, rows)
}

/// `2026-12-06 13:11:23 UTC (42s ago)`: a time in the past, to the second.
pub fn time_cell(at: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    let when = at.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default();
    let ago = (OffsetDateTime::now_utc() - at).whole_seconds().max(0) as u64;
    format!("{when} ({} ago)", tether_shared::duration::GoDuration(std::time::Duration::from_secs(ago)))
}

/// `28 Apr 22 19:19 UTC (4m48s)`; `never` for no expiry.
pub fn expiry_cell(expires: Option<OffsetDateTime>) -> String {
    let Some(expires) = expires else { return "never".into() };
    let fmt = format_description!("[day] [month repr:short] [year repr:last_two] [hour]:[minute] UTC");
    let when = expires.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default();
    let left = expires - OffsetDateTime::now_utc();
    let secs = left.whole_seconds().max(0) as u64;
    format!("{when} ({})", tether_shared::duration::GoDuration(std::time::Duration::from_secs(secs)))
}

/// The second half of `users add` / `users reset` output.
pub fn print_invite(proxy: &str, invite: &InviteResponse, pins: &[String]) {
    // To the nearest minute: an hour's invite reads 1h0m0s, not 59 minutes.
    let secs = (invite.expires - OffsetDateTime::now_utc()).whole_seconds().max(0) as u64;
    let left = tether_shared::duration::GoDuration(std::time::Duration::from_secs((secs + 30) / 60 * 60));
    println!("to complete the user setup; the invite is valid for {left} and works once:");
    println!();
    // With the cluster TLS CA's pin, the line works as printed on a machine that never logged in
    // to this proxy (no --insecure).
    let pin = if pins.is_empty() { String::new() } else { format!(" --ca-pin={}", pins.join(",")) };
    println!("  tsh login --proxy={proxy} --user={} --invite={}{pin}", invite.user, invite.token);
    println!();
    println!("or in a browser: https://{proxy}/#invite={}&user={}", invite.token, invite.user);
}
