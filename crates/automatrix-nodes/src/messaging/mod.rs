//! Messaging nodes that go through HTTP APIs: text messages and chat posts. (Email speaks
//! SMTP: see `email`.)

mod chat;
mod sms;

pub use chat::ChatPost;
pub use sms::SmsSend;

#[cfg(test)]
mod tests;
