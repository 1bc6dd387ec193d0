pub mod common;
pub mod engine_harness;

mod bad_input;
mod commands;
mod concurrency;
mod discovery;
mod drift_health_update;
mod engine;
mod examples;
mod hostile;
mod operate;
mod reliability;
mod render;
