//! `wait`: the three conditions, registered atomically with the state check.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use crate::error::{EngineError, Result};
use crate::Engine;

/// `condition=` of `POST /containers/{id}/wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// Default: return when not running (at once if stopped).
    NotRunning,
    /// Return after the next exit, even if stopped now.
    NextExit,
    /// Return after the container is removed.
    Removed,
}

impl FromStr for WaitCondition {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "not-running" => Ok(Self::NotRunning),
            "next-exit" => Ok(Self::NextExit),
            "removed" => Ok(Self::Removed),
            other => Err(EngineError::invalid(format!(
                "invalid condition: {other:?}"
            ))),
        }
    }
}

/// A pending wait; resolves to the exit code.
pub type WaitFuture = Pin<Box<dyn Future<Output = i64> + Send>>;

impl Engine {
    /// Validates and registers a wait; the future completes when the condition holds.
    pub fn wait_container(&self, name: &str, cond: WaitCondition) -> Result<WaitFuture> {
        let c = self.container(name)?;
        let mut rx = c.watch_life();
        let start = *rx.borrow_and_update();
        Ok(Box::pin(async move {
            let _keep = c;
            let mut cur = start;
            loop {
                let done = match cond {
                    WaitCondition::NotRunning => !cur.running,
                    WaitCondition::NextExit => cur.exits > start.exits,
                    WaitCondition::Removed => cur.removed,
                };
                if done {
                    return cur.exit_code;
                }
                if rx.changed().await.is_err() {
                    return cur.exit_code;
                }
                cur = *rx.borrow_and_update();
            }
        }))
    }
}
