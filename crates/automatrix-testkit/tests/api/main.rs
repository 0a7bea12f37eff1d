//! The HTTP API, driven over real HTTP against SQLite and PostgreSQL.

mod auth;
mod dealer;
mod durable;
mod errors;
mod executions;
mod fixtures;
mod foreach;
mod health;
mod hooks;
mod nodes;
mod openapi;
mod schedules;
mod tenancy;
mod workflows;
