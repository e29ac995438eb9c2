//! The container/image/network model behind berthd. Skeleton: arrives with the daemon issue (#4).
