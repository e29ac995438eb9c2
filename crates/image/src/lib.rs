//! Image store, layers and registry client. Skeleton: arrives with the images issue (#3).
