//! [`Current`]: a value that is replaced while readers keep the one they took, for what a CA
//! rotation renews in a running process (a listener's host certificate and SSH configuration, a
//! proxy's address signer). A reader clones an `Arc` under a read lock held for no longer than
//! that; a writer swaps the `Arc`.

use std::sync::{Arc, RwLock};

/// The current value of something that a rotation renews.
#[derive(Debug)]
pub struct Current<T>(RwLock<Arc<T>>);

impl<T> Current<T> {
    /// Starts with `value`.
    pub fn new(value: T) -> Self {
        Current(RwLock::new(Arc::new(value)))
    }

    /// The value now; it stays valid for the holder after a [`Current::set`].
    pub fn get(&self) -> Arc<T> {
        self.0.read().map(|v| v.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replaces the value for every later [`Current::get`].
    pub fn set(&self, value: T) {
        let value = Arc::new(value);
        match self.0.write() {
            Ok(mut guard) => *guard = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Current;

    #[test]
    fn a_reader_keeps_what_it_took_and_later_readers_see_the_new_value() {
        let current = Current::new(1);
        let held = current.get();
        current.set(2);
        assert_eq!((*held, *current.get()), (1, 2));
    }
}
