//! Cancelling a sync call from another thread (the OS ending a background task,
//! the user leaving the screen), in the manner of application-services' interrupt
//! handles: an interrupt ends the calls running when it is made, and never the
//! calls made after it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Shared with whoever may cancel; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct InterruptHandle {
    interrupts: Arc<AtomicU64>,
}

impl InterruptHandle {
    /// Ends the sync calls now running at their next check: before each request
    /// and between upload chunks. A request in flight finishes or times out first.
    pub fn interrupt(&self) {
        self.interrupts.fetch_add(1, Ordering::SeqCst);
    }

    /// Starts one call's watch for interrupts.
    pub(crate) fn scope(&self) -> InterruptScope {
        InterruptScope {
            interrupts: self.interrupts.clone(),
            at_start: self.interrupts.load(Ordering::SeqCst),
        }
    }
}

/// One call's view: interrupted once any interrupt came after it started.
pub(crate) struct InterruptScope {
    interrupts: Arc<AtomicU64>,
    at_start: u64,
}

impl InterruptScope {
    pub fn interrupted(&self) -> bool {
        self.interrupts.load(Ordering::SeqCst) != self.at_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_ends_running_calls_not_later_ones() {
        let handle = InterruptHandle::default();
        let running = handle.scope();
        assert!(!running.interrupted());
        handle.clone().interrupt();
        assert!(running.interrupted());
        assert!(
            !handle.scope().interrupted(),
            "a call made after the interrupt runs"
        );
    }
}
