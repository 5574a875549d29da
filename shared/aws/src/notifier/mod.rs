//! Execution status changes, told to the world.

pub mod sns;

pub use sns::SnsNotifier;
