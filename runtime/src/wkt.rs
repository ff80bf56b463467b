//! Well-known types (in progress).
