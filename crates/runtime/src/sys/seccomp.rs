//! seccomp(2). Filled in by the seccomp work item.
