//! When a trigger was paused, from the registry's `TriggerPaused`, `TriggerResumed` and
//! `TriggerCancelled` logs.
//!
//! Settlement remembers only a trigger's latest pause (one storage word it reads anyway), so an
//! execution inside an earlier pause would be paid if nothing else looked. Co-signers look: they
//! judge a receipt's execution time against every pause with settlement's own rule, so under the
//! stake assumption no such receipt reaches a quorum.

/// Pauses kept in full per trigger; older ones are merged into one span covering them (which
/// refuses more, never less), so an owner who pauses and resumes without end costs a keeper a
/// bounded amount of memory.
const MAX_CLOSED_PAUSES: usize = 256;

/// One trigger's pauses, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PauseHistory {
    /// Ended pauses, `[from, until)` in seconds.
    closed: Vec<(u64, u64)>,
    /// The pause in force, since this time; cancellation leaves one open for good.
    open: Option<u64>,
    cancelled: bool,
}

impl PauseHistory {
    /// `TriggerPaused` at `at`.
    pub fn pause(&mut self, at: u64) {
        self.open.get_or_insert(at);
    }

    /// `TriggerResumed` at `at`.
    pub fn resume(&mut self, at: u64) {
        if self.cancelled {
            return; // the contract refuses it; nothing resumes a cancelled trigger
        }
        let Some(from) = self.open.take() else {
            return;
        };
        self.closed.push((from, at));
        if self.closed.len() > MAX_CLOSED_PAUSES {
            let (from, _) = self.closed.remove(0);
            self.closed[0].0 = from;
        }
    }

    /// `TriggerCancelled` at `at`: paused from then on (or from the pause in force).
    pub fn cancel(&mut self, at: u64) {
        self.pause(at);
        self.cancelled = true;
    }

    /// Whether the trigger is paused now.
    pub fn is_paused(&self) -> bool {
        self.open.is_some()
    }

    /// Whether an execution at `time` falls inside a pause: settlement's rule (at or after a
    /// pause's start, before its end), applied to every pause, not only the latest.
    pub fn covers(&self, time: u64) -> bool {
        self.open.is_some_and(|from| time >= from)
            || self
                .closed
                .iter()
                .any(|(from, until)| (*from..*until).contains(&time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pause_counts_not_only_the_latest() {
        let mut h = PauseHistory::default();
        assert!(!h.covers(5));
        h.pause(10);
        assert!(h.is_paused() && h.covers(10) && h.covers(1_000) && !h.covers(9));
        h.resume(20);
        h.pause(30);
        h.resume(40);
        assert!(!h.is_paused());
        for (time, inside) in [
            (9, false),
            (10, true),
            (19, true),
            (20, false),
            (35, true),
            (40, false),
        ] {
            assert_eq!(h.covers(time), inside, "{time}");
        }
    }

    #[test]
    fn cancellation_pauses_for_good_from_the_pause_in_force() {
        let mut h = PauseHistory::default();
        h.cancel(50);
        assert!(h.covers(50) && !h.covers(49));
        let mut paused_first = PauseHistory::default();
        paused_first.pause(10);
        paused_first.cancel(50);
        assert!(paused_first.covers(10));
        paused_first.resume(60); // the contract refuses this; nothing resumes a cancelled trigger
        assert!(paused_first.covers(10) && paused_first.covers(1_000));
    }

    #[test]
    fn the_oldest_pauses_merge_into_one_wider_span() {
        let mut h = PauseHistory::default();
        for i in 0..=MAX_CLOSED_PAUSES as u64 {
            h.pause(i * 10);
            h.resume(i * 10 + 5);
        }
        assert_eq!(h.closed.len(), MAX_CLOSED_PAUSES);
        assert!(
            h.covers(0) && h.covers(7),
            "merged: refuses more, never less"
        );
        assert!(!h.covers(MAX_CLOSED_PAUSES as u64 * 10 + 7));
    }
}
