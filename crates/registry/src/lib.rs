//! OCI distribution client. Placeholder: being written.
