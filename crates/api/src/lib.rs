//! Docker Engine API models, client and server. Skeleton: arrives with the daemon issue (#4).
