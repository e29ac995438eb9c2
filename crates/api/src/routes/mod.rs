//! Handlers, one module per API area.

pub mod containers;
pub mod exec;
pub mod extras;
pub mod images;
pub mod networks;
pub mod system;
pub mod volumes;
