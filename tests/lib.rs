//! mrctl's integration tests: one binary, driving the real `mrctl` executable
//! in temporary stack directories. Offline tests need nothing but the
//! binary; engine tests (later) need a Docker engine.

mod suite;
