//! Config field helpers shared by node families.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// For `#[serde(default, deserialize_with = "present")]`: a field that is there, even as
/// `null`, is `Some`; only an absent one is `None`. So `"value": null` is a value to work on,
/// not a request to use the input.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
