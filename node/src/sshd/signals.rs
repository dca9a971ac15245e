//! Signal names between SSH and Unix: a process's death by signal reported as `exit-signal`
//! (RFC 4254 §6.10), and a client's `signal` request delivered to the session's process.
//!
//! SSH names signals without the `SIG` prefix; the ones RFC 4254 lists have their own [`Sig`]
//! variants, any other travels as [`Sig::Custom`].

use nix::sys::signal::Signal;
use russh::Sig;

use crate::session;

/// The SSH form of a signal named `name` (without `SIG`, as [`session::signal_name`] gives it).
pub(super) fn to_ssh_signal(name: &str) -> Sig {
    match name {
        "ABRT" => Sig::ABRT,
        "ALRM" => Sig::ALRM,
        "FPE" => Sig::FPE,
        "HUP" => Sig::HUP,
        "ILL" => Sig::ILL,
        "INT" => Sig::INT,
        "KILL" => Sig::KILL,
        "PIPE" => Sig::PIPE,
        "QUIT" => Sig::QUIT,
        "SEGV" => Sig::SEGV,
        "TERM" => Sig::TERM,
        "USR1" => Sig::USR1,
        other => Sig::Custom(other.to_string()),
    }
}

/// The Unix signal a client's `signal` request names; `None` for a name this system lacks.
pub(super) fn from_ssh_signal(sig: &Sig) -> Option<Signal> {
    let name = match sig {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name.as_str(),
    };
    session::signal_from_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_signals_round_trip() {
        for signal in [
            Signal::SIGABRT,
            Signal::SIGALRM,
            Signal::SIGFPE,
            Signal::SIGHUP,
            Signal::SIGILL,
            Signal::SIGINT,
            Signal::SIGKILL,
            Signal::SIGPIPE,
            Signal::SIGQUIT,
            Signal::SIGSEGV,
            Signal::SIGTERM,
            Signal::SIGUSR1,
        ] {
            let sig = to_ssh_signal(&session::signal_name(signal as i32));
            assert!(!matches!(sig, Sig::Custom(_)), "{signal} has its own SSH name");
            assert_eq!(from_ssh_signal(&sig), Some(signal));
        }
    }

    #[test]
    fn other_signals_travel_by_name() {
        let sig = to_ssh_signal(&session::signal_name(Signal::SIGUSR2 as i32));
        assert!(matches!(&sig, Sig::Custom(name) if name == "USR2"), "{sig:?}");
        assert_eq!(from_ssh_signal(&sig), Some(Signal::SIGUSR2));
        assert_eq!(from_ssh_signal(&Sig::Custom("NOSUCH".into())), None);
    }
}
