//! Operations several commands share (`up` creates, `restart` stops,
//! `doctor --fix` starts, `restore` creates, `clean --backup` backs up):
//! commands call down into these, never sideways into each other.

pub mod backup;
pub mod create;
pub mod start;
pub mod stop;
