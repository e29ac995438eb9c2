//! The container init between clone and execve.
