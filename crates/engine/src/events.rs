//! The event bus behind `GET /events`: a broadcast channel for live subscribers and a
//! ring of the last 256 events for `since` replays (Docker keeps the same number).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::broadcast;

/// How many past events are kept for `since`.
pub const RING: usize = 256;

/// One event, in Docker's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `container`, `image`, `network`, `volume`, `daemon`.
    pub typ: &'static str,
    /// `create`, `start`, `die`, `exec_start: sh`…
    pub action: String,
    /// Object id (container id, image ref…).
    pub actor_id: String,
    /// Actor attributes (labels, `name`, `image`, `exitCode`…).
    pub attributes: BTreeMap<String, String>,
    /// Unix nanoseconds.
    pub time_nano: i64,
}

/// Publish/subscribe with a replay ring.
#[derive(Debug)]
pub struct Events {
    tx: broadcast::Sender<Event>,
    ring: Mutex<VecDeque<Event>>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    /// An empty bus.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            tx,
            ring: Mutex::new(VecDeque::with_capacity(RING)),
        }
    }

    /// Records and broadcasts an event stamped now.
    pub fn publish(
        &self,
        typ: &'static str,
        action: impl Into<String>,
        actor_id: impl Into<String>,
        attributes: BTreeMap<String, String>,
    ) {
        let ev = Event {
            typ,
            action: action.into(),
            actor_id: actor_id.into(),
            attributes,
            time_nano: crate::time::now_nanos(),
        };
        let mut ring = self.ring.lock().expect("events ring");
        if ring.len() == RING {
            ring.pop_front();
        }
        ring.push_back(ev.clone());
        // Sent under the ring lock so a subscriber that copies the ring and then
        // subscribes sees every event exactly once.
        let _ = self.tx.send(ev);
    }

    /// The buffered events (oldest first) and a receiver for everything after them.
    pub fn subscribe(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let ring = self.ring.lock().expect("events ring");
        (ring.iter().cloned().collect(), self.tx.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_last_256_and_live_follows() {
        let bus = Events::new();
        for i in 0..300 {
            bus.publish("container", "create", format!("c{i}"), BTreeMap::new());
        }
        let (past, mut rx) = bus.subscribe();
        assert_eq!(past.len(), RING);
        assert_eq!(past[0].actor_id, "c44");
        bus.publish("container", "start", "x", BTreeMap::new());
        assert_eq!(rx.try_recv().unwrap().action, "start");
    }
}
