//! The HTTP API, driven over real HTTP against SQLite and PostgreSQL.

mod ai;
mod ai_nodes;
mod ai_proxy;
mod api_keys;
mod auth;
mod credentials;
mod database;
mod dealer;
mod dry_run;
mod durable;
mod email;
mod errors;
mod executions;
mod fixtures;
mod foreach;
mod headers;
mod health;
mod hooks;
mod messaging;
mod nodes;
mod openapi;
mod schedules;
mod templates;
mod tenancy;
mod versions;
mod workflows;
