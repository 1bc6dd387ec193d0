//! Operations: what mrctl does to instances, below the commands. Each takes
//! a typed spec (validated from the command line at the edge), reports
//! progress to a sink and returns a typed report; none prints, reads clap's
//! types or exits the process, so the same operations can serve the command
//! line and, later, an HTTP API or several engines.

pub mod instance;
