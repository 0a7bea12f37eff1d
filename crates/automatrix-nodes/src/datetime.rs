//! `transform.datetime`: reads a date and time as people and systems write them, moves it by
//! calendar amounts in a time zone, and writes it in another zone and format.

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{ConfigIssue, Node, NodeContext, NodeError, NodeOutput, NodeSpec, time_zone};
use chrono::{
    DateTime, Datelike, Days, FixedOffset, Months, NaiveDate, NaiveDateTime, TimeDelta, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

/// Reads, shifts and formats dates and times.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransformDatetime;

impl TransformDatetime {
    pub const KIND: &'static str = "transform.datetime";
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shift {
    #[serde(default)]
    years: i32,
    #[serde(default)]
    months: i32,
    #[serde(default)]
    weeks: i64,
    #[serde(default)]
    days: i64,
    #[serde(default)]
    hours: i64,
    #[serde(default)]
    minutes: i64,
    #[serde(default)]
    seconds: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatetimeConfig {
    #[serde(default)]
    value: Value,
    #[serde(default = "utc")]
    timezone: String,
    #[serde(default)]
    add: Shift,
    #[serde(default)]
    to_timezone: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// A local date and time in `zone`; in a spring-forward gap, the first time after it.
fn local(zone: Tz, at: NaiveDateTime) -> Option<DateTime<Tz>> {
    (0..4).find_map(|h| {
        zone.from_local_datetime(&(at + TimeDelta::hours(h)))
            .earliest()
    })
}

/// Reads `value`: ISO-8601 / RFC 3339 (with or without offset), RFC 2822, `YYYY-MM-DD`,
/// US-style `MM/DD/YYYY` with an optional `HH:MM[:SS] [AM|PM]`, or epoch seconds or
/// milliseconds; a time without an offset is local to `zone`. Null is now.
fn read(value: &Value, zone: Tz) -> Result<DateTime<Utc>, String> {
    let text = match value {
        Value::Null => return Ok(Utc::now()),
        Value::Number(n) => {
            let n = n.as_f64().ok_or("not a number")?;
            // Past 1e11, a count of seconds would be after the year 5000: milliseconds.
            let ms = if n.abs() >= 1e11 { n } else { n * 1000.0 };
            return DateTime::from_timestamp_millis(ms as i64)
                .ok_or_else(|| format!("{n} is out of range"));
        }
        Value::String(s) => s.trim(),
        other => return Err(format!("a date and time is text or a number, not {other}")),
    };
    let naive = match read_text(text) {
        Some(Written::Zoned(t)) => return Ok(t.with_timezone(&Utc)),
        Some(Written::Local(t)) => t,
        Some(Written::Date(d)) => d.and_hms_opt(0, 0, 0).expect("midnight"),
        None => return Err(format!("`{text}` is not a date and time this node reads")),
    };
    local(zone, naive)
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{text}` does not exist in {zone}"))
}

/// A date and time as written: with an offset, without one, or a date alone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Written {
    Zoned(DateTime<FixedOffset>),
    Local(NaiveDateTime),
    Date(NaiveDate),
}

/// Reads `text` (trimmed): ISO-8601 / RFC 3339 (with or without offset), RFC 2822,
/// `YYYY-MM-DD`, or US-style `MM/DD/YYYY` with an optional `HH:MM[:SS] [AM|PM]`. Shared by the
/// nodes that read dates people and lead providers write (`dealer.adf_parse`).
pub(crate) fn read_text(text: &str) -> Option<Written> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(Written::Zoned(t));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(Written::Zoned(t));
    }
    // ISO 8601 offsets without a colon (`-0500`), as some lead providers write them.
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(Written::Zoned(t));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok());
    if let Some(t) = naive {
        return Some(Written::Local(t));
    }
    ["%Y-%m-%d", "%m/%d/%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
        .map(Written::Date)
}

/// Moves `at` by `shift`: years, months, weeks and days on the calendar of `zone` (the local
/// time stays, across daylight-saving changes), hours, minutes and seconds in elapsed time.
fn shifted(at: DateTime<Utc>, shift: &Shift, zone: Tz) -> Result<DateTime<Utc>, String> {
    let out_of_range = || "the shifted date is out of range".to_owned();
    let mut wall = at.with_timezone(&zone).naive_local();
    let months = i64::from(shift.years) * 12 + i64::from(shift.months);
    wall = if months >= 0 {
        wall.checked_add_months(Months::new(
            u32::try_from(months).map_err(|_| out_of_range())?,
        ))
    } else {
        wall.checked_sub_months(Months::new(
            u32::try_from(-months).map_err(|_| out_of_range())?,
        ))
    }
    .ok_or_else(out_of_range)?;
    let days = shift.weeks * 7 + shift.days;
    wall = if days >= 0 {
        wall.checked_add_days(Days::new(days as u64))
    } else {
        wall.checked_sub_days(Days::new(days.unsigned_abs()))
    }
    .ok_or_else(out_of_range)?;
    let calendar = local(zone, wall)
        .ok_or_else(out_of_range)?
        .with_timezone(&Utc);
    let elapsed = TimeDelta::try_hours(shift.hours)
        .zip(TimeDelta::try_minutes(shift.minutes))
        .zip(TimeDelta::try_seconds(shift.seconds))
        .map(|((h, m), s)| h + m + s)
        .ok_or_else(out_of_range)?;
    calendar
        .checked_add_signed(elapsed)
        .ok_or_else(out_of_range)
}

const DOCS: &str = r#"Reads a date and time as people and systems write them, moves it by calendar amounts, and writes it in another time zone and format: "remind two days before the appointment at 9:00 local", "the lead's timestamp in the store's zone", "45 days after delivery".

**Reading `value`:** ISO-8601 / RFC 3339 (`2026-11-23T15:00:00Z`, with or without an offset), RFC 2822 (email dates), `YYYY-MM-DD`, US-style `MM/DD/YYYY` with an optional `HH:MM[:SS]` and `AM`/`PM` (as DMS exports write them), or a number of epoch seconds or milliseconds. A time without an offset is local to `timezone` (IANA, default `UTC`). Absent or null: now.

**Moving (`add`):** `{years, months, weeks, days, hours, minutes, seconds}`, each may be negative. Years to days move on the calendar of `timezone` (9:00 stays 9:00 across a daylight-saving change; the 31st plus a month is the last day of the next month); hours and smaller move in elapsed time.

**Writing:** in `to_timezone` (default `timezone`); `format` adds a `formatted` field (strftime: `%A %B %-d at %-I:%M %p` gives `Monday November 23 at 9:00 AM`).

**Output:** `{iso, utc, epoch_ms, date, time, weekday, formatted}`: `iso` with the zone's offset, `utc` ending in `Z`, `date` (`YYYY-MM-DD`), `time` (`HH:MM`) and `weekday` (`monday` …) local to `to_timezone`.

**Errors:** a value it cannot read fails the step, quoting the value.

**Example**

```json
{
  "id": "reminder_at",
  "type": "transform.datetime",
  "config": {"value": "{{ $json.appointment }}", "timezone": "America/Chicago", "add": {"days": -2}, "format": "%A %B %-d at %-I:%M %p"}
}
```

With `"appointment": "11/25/2026 09:30 AM"` the output is `{"iso": "2026-11-23T09:30:00-06:00", "utc": "2026-11-23T15:30:00Z", "epoch_ms": 1795447800000, "date": "2026-11-23", "time": "09:30", "weekday": "monday", "formatted": "Monday November 23 at 9:30 AM"}`.
"#;

#[async_trait]
impl Node for TransformDatetime {
    fn spec(&self) -> NodeSpec {
        let amount = json!({"type": "integer"});
        NodeSpec {
            description: "Reads a date and time, moves it by calendar amounts and writes it in another zone and format.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "value": {"description": "The date and time: text in a usual format or epoch seconds or milliseconds; now when absent."},
                    "timezone": {"description": "IANA zone a value without an offset is read in, and calendar moves happen in.", "type": "string", "default": "UTC"},
                    "add": {
                        "description": "Amounts to move by, each may be negative.",
                        "type": "object",
                        "properties": {"years": amount, "months": amount, "weeks": amount, "days": amount, "hours": amount, "minutes": amount, "seconds": amount},
                        "additionalProperties": false,
                    },
                    "to_timezone": {"description": "IANA zone of the output; `timezone` when absent.", "type": "string"},
                    "format": {"description": "strftime pattern of the `formatted` output field.", "type": "string"},
                },
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Date & Time", "transform")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        for field in ["timezone", "to_timezone"] {
            if let Some(name) = config[field].as_str()
                && let Err(issue) = time_zone(name, field)
            {
                issues.push(issue);
            }
        }
        issues
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: DatetimeConfig = parse_config(config)?;
        let fatal = |e: String| NodeError::fatal(format!("transform.datetime: {e}"));
        let from = time_zone(&config.timezone, "timezone").map_err(|i| fatal(i.issue))?;
        let to = match &config.to_timezone {
            Some(name) => time_zone(name, "to_timezone").map_err(|i| fatal(i.issue))?,
            None => from,
        };
        let at = read(&config.value, from).map_err(fatal)?;
        let at = shifted(at, &config.add, from).map_err(fatal)?;
        let there = at.with_timezone(&to);
        let mut out = json!({
            "iso": there.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            "utc": at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "epoch_ms": at.timestamp_millis(),
            "date": format!("{:04}-{:02}-{:02}", there.year(), there.month(), there.day()),
            "time": format!("{:02}:{:02}", there.hour(), there.minute()),
            "weekday": there.format("%A").to_string().to_lowercase(),
        });
        if let Some(pattern) = &config.format {
            let mut text = String::new();
            std::fmt::write(&mut text, format_args!("{}", there.format(pattern)))
                .map_err(|_| fatal(format!("`{pattern}` is not a format this node writes")))?;
            out["formatted"] = Value::String(text);
        }
        Ok(NodeOutput::main(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    async fn datetime(config: Value) -> Value {
        run(&TransformDatetime, config, Value::Null)
            .await
            .unwrap()
            .data
    }

    #[tokio::test]
    async fn the_documented_example() {
        let out = datetime(json!({"value": "11/25/2026 09:30 AM", "timezone": "America/Chicago", "add": {"days": -2}, "format": "%A %B %-d at %-I:%M %p"})).await;
        assert_eq!(
            out,
            json!({"iso": "2026-11-23T09:30:00-06:00", "utc": "2026-11-23T15:30:00Z", "epoch_ms": 1795447800000i64, "date": "2026-11-23", "time": "09:30", "weekday": "monday", "formatted": "Monday November 23 at 9:30 AM"})
        );
    }

    #[tokio::test]
    async fn values_in_the_usual_formats_are_read() {
        let utc = |v: Value| async move { datetime(json!({"value": v})).await["utc"].clone() };
        assert_eq!(
            utc(json!("2026-11-23T15:00:00Z")).await,
            "2026-11-23T15:00:00Z"
        );
        assert_eq!(
            utc(json!("2026-11-23T09:00:00-06:00")).await,
            "2026-11-23T15:00:00Z"
        );
        assert_eq!(
            utc(json!("Mon, 23 Nov 2026 15:00:00 +0000")).await,
            "2026-11-23T15:00:00Z"
        );
        assert_eq!(utc(json!("2026-11-23")).await, "2026-11-23T00:00:00Z");
        assert_eq!(
            utc(json!("11/23/2026 3:00 PM")).await,
            "2026-11-23T15:00:00Z"
        );
        assert_eq!(utc(json!(1795446000)).await, "2026-11-23T15:00:00Z");
        assert_eq!(utc(json!(1795446000000i64)).await, "2026-11-23T15:00:00Z");
        let bad = run(
            &TransformDatetime,
            json!({"value": "next tuesday"}),
            Value::Null,
        )
        .await
        .unwrap_err();
        assert!(bad.message.contains("`next tuesday`"), "{}", bad.message);
        let pattern = run(
            &TransformDatetime,
            json!({"value": "2026-11-23", "format": "%Q"}),
            Value::Null,
        )
        .await
        .unwrap_err();
        assert!(pattern.message.contains("`%Q`"), "{}", pattern.message);
    }

    #[tokio::test]
    async fn calendar_moves_keep_the_local_time_across_daylight_saving() {
        // 2026-11-01 is the fall-back day in Chicago: a day later is still 09:00 local.
        let out = datetime(json!({"value": "2026-10-31T09:00:00", "timezone": "America/Chicago", "add": {"days": 1}})).await;
        assert_eq!(out["iso"], "2026-11-01T09:00:00-06:00");
        let out = datetime(json!({"value": "2026-10-31T09:00:00", "timezone": "America/Chicago", "add": {"hours": 24}})).await;
        assert_eq!(out["iso"], "2026-11-01T08:00:00-06:00", "elapsed hours");
        let out = datetime(json!({"value": "2026-01-31", "add": {"months": 1}})).await;
        assert_eq!(out["date"], "2026-02-28");
        let out =
            datetime(json!({"value": "2026-11-23T15:00:00Z", "to_timezone": "Europe/Berlin"}))
                .await;
        assert_eq!(
            (out["iso"].clone(), out["time"].clone()),
            (json!("2026-11-23T16:00:00+01:00"), json!("16:00"))
        );
    }

    #[test]
    fn unknown_zones_are_refused_at_validation() {
        let fields: Vec<String> = TransformDatetime
            .check_config(&json!({"timezone": "Mars/Base", "to_timezone": "Moon/Base"}))
            .into_iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(fields, ["timezone", "to_timezone"]);
    }
}
