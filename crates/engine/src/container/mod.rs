//! Containers: the persisted record, the in-memory handle, and the lifecycle operations
//! of [`crate::Engine`] (one file per operation).

mod attach;
mod bundle;
mod create;
mod handle;
mod lookup;
mod misc;
mod model;
mod monitor;
mod remove;
mod restore;
mod start;
mod stop;
mod view;
mod wait;

pub use attach::{AttachOptions, AttachStream};
pub(crate) use create::resolv_conf;
pub use create::CreateRequest;
pub use handle::{Container, Life};
pub use model::{ContainerRecord, MountPoint, State, Status};
pub use start::{classify_exit_for_start_error, parse_size as parse_log_size};
pub use view::{dir_size as dir_size_of, ListOptions};
pub use wait::WaitCondition;
