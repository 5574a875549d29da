//! The Amazon States Language, pure: the model of a state machine, its parser and validator,
//! and the semantics of every state (paths, payload templates, intrinsic functions, Choice
//! rules, Retry and Catch, the data flow), with no I/O, no clock and no randomness of its own.

pub mod budget;
pub mod env;
pub mod error;
pub mod intrinsics;
pub mod json;
pub mod jsonata;
pub mod path;
pub mod resource;

pub use error::Failure;
pub mod choice;
pub mod dataflow;
pub mod diag;
pub mod model;
pub mod parse;
pub mod template;
pub mod timestamp;
