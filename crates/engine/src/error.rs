//! The engine's error: a kind that maps onto Docker's HTTP status codes, and a message
//! written the way Docker writes it (clients match on some texts).

/// What went wrong, in the terms the Docker API reports (moby `errdefs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is wrong.
    InvalidParameter,
    /// 404: no such object.
    NotFound,
    /// 409: the object's state forbids it (name in use, container running…).
    Conflict,
    /// 304: nothing to do (start a running container, stop a stopped one).
    NotModified,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 501.
    NotImplemented,
    /// 503.
    Unavailable,
    /// 500: a real fault inside berth or the system.
    Internal,
}

impl ErrorKind {
    /// The HTTP status Docker uses for this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidParameter => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::NotModified => 304,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotImplemented => 501,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

/// An engine error: kind + Docker-style message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    /// Which status it maps to.
    pub kind: ErrorKind,
    /// The text clients print after `Error response from daemon: `.
    pub message: String,
}

/// Result with [`EngineError`].
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    /// 400.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// 304.
    pub fn not_modified(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotModified, message)
    }
    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// `No such container: <name>` (404).
    pub fn no_such_container(name: &str) -> Self {
        Self::not_found(format!("No such container: {name}"))
    }
    /// A 500 for an I/O failure while doing `what`.
    pub fn io(what: impl std::fmt::Display, e: std::io::Error) -> Self {
        Self::internal(format!("{what}: {e}"))
    }
}

impl From<crate::validate::InvalidParameter> for EngineError {
    fn from(e: crate::validate::InvalidParameter) -> Self {
        Self::invalid(e.to_string())
    }
}

impl From<berth_image::images::ImageError> for EngineError {
    fn from(e: berth_image::images::ImageError) -> Self {
        use berth_image::images::ImageError as E;
        let kind = match &e {
            E::NotFound { .. } => ErrorKind::NotFound,
            E::ReferencedInMultipleRepositories { .. }
            | E::UsedByRunningContainer { .. }
            | E::UsedByStoppedContainer { .. }
            | E::ReferenceInUse { .. } => ErrorKind::Conflict,
            E::InvalidReference { .. } | E::TagWithDigest { .. } | E::NotCanonical { .. } => {
                ErrorKind::InvalidParameter
            }
            _ => ErrorKind::Internal,
        };
        Self::new(kind, e.to_string())
    }
}
