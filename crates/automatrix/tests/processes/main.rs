//! The real binary as several processes: `serve` and `worker` processes sharing one database,
//! killed (`SIGKILL`), stopped (`SIGTERM`) and started again, driven over HTTP like an operator
//! would, with the tables checked afterwards (DESIGN.md §1 "many processes", §4 crash recovery),
//! `rotate-key` between them and `backup` beside them.
//!
//! Every wait polls with a bound ([`helpers::BOUND`]); a failing test prints the stderr of
//! every process it started. PostgreSQL tests run when `AUTOMATRIX_TEST_POSTGRES_URL` is set.

mod backup;
mod helpers;
mod live;
mod observability;
mod recovery;
mod rotate_key;
mod scale_out;
mod schedules;
