pub mod common;
pub mod engine_harness;

mod bad_input;
mod commands;
mod concurrency;
mod deadlines;
mod discovery;
mod drift_health_update;
mod engine;
mod examples;
mod hostile;
mod interrupted;
mod operate;
mod ownership;
mod reliability;
mod render;
mod restore_secrets_ports;
mod roots_and_files;
