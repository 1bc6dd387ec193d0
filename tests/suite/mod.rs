pub mod common;

mod bad_input;
mod commands;
mod concurrency;
mod discovery;
mod render;
