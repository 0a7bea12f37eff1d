//! Cron schedules: when a `trigger.schedule` fires, in its time zone, and what a scheduler does
//! about ticks it finds late. Pure functions of the schedule and the clock: the node checks its
//! config with them, and the engine's scheduler, which claims ticks in the database, plans with
//! them.

use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;
use serde_json::Value;

use crate::node::ConfigIssue;

/// The kind of the trigger node that starts a workflow on a schedule.
pub const SCHEDULE_TRIGGER: &str = "trigger.schedule";

/// How late a tick may fire and still count as on time (a scheduler polls; a server restarts).
pub const ON_TIME: TimeDelta = TimeDelta::seconds(60);

/// What to do about ticks missed while no scheduler ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Skip them: the schedule goes on from the next tick.
    #[default]
    None,
    /// Fire once, for the latest of them.
    Last,
}

/// A cron pattern (5 fields, or 6 with seconds first) in an IANA time zone.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    zone: Tz,
}

/// `name` as an IANA time zone, or what to say about it at `field`.
pub fn time_zone(name: &str, field: &str) -> Result<Tz, ConfigIssue> {
    Tz::from_str(name).map_err(|_| ConfigIssue {
        field: field.to_owned(),
        issue: format!("unknown time zone `{name}` (use an IANA name such as America/Chicago)"),
    })
}

/// The config of a `trigger.schedule` node, as the schema admits it.
#[derive(Clone, Debug, Deserialize)]
struct ScheduleConfig {
    cron: String,
    #[serde(default = "utc")]
    timezone: String,
    #[serde(default)]
    catch_up: CatchUp,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// A `trigger.schedule` node's schedule and catch-up rule, read from its config.
pub fn schedule_of(config: &Value) -> Result<(Schedule, CatchUp), ConfigIssue> {
    let config = ScheduleConfig::deserialize(config).map_err(|e| ConfigIssue {
        field: "cron".to_owned(),
        issue: format!("not a schedule: {e}"),
    })?;
    Ok((
        Schedule::parse(&config.cron, &config.timezone)?,
        config.catch_up,
    ))
}

/// What a scheduler does about a schedule at some moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The tick to fire now (it becomes the execution's `scheduled_for`), if any.
    pub fire: Option<DateTime<Utc>>,
    /// The next tick to plan for.
    pub next: Option<DateTime<Utc>>,
}

impl Schedule {
    /// `cron`: `minute hour day-of-month month day-of-week`, optionally with seconds first;
    /// names (`MON-FRI`, `JAN`) allowed. `timezone`: an IANA name such as `America/Chicago`.
    pub fn parse(cron: &str, timezone: &str) -> Result<Self, ConfigIssue> {
        let bad_cron = |issue| ConfigIssue {
            field: "cron".to_owned(),
            issue,
        };
        let fields = cron.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(bad_cron(format!(
                "a cron pattern has 5 fields (or 6 with seconds first), not {fields}"
            )));
        }
        let cron =
            Cron::from_str(cron).map_err(|e| bad_cron(format!("invalid cron pattern: {e}")))?;
        let zone = time_zone(timezone, "timezone")?;
        Ok(Self { cron, zone })
    }

    /// The first tick strictly after `after`. A local time that does not exist (a
    /// spring-forward gap) fires when the gap ends; one that happens twice (fall back) fires
    /// once.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The latest tick at or before `at`.
    fn latest_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.zone);
        self.cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// At `now`, about the tick `planned` (due: `planned <= now`): fire it when it is on time
    /// ([`ON_TIME`]) and no later tick is due too; otherwise ticks were missed, and
    /// `catch_up` decides. Either way the next tick is the first after `now`.
    pub fn plan(&self, planned: DateTime<Utc>, now: DateTime<Utc>, catch_up: CatchUp) -> Plan {
        if planned > now {
            return Plan {
                fire: None,
                next: Some(planned),
            };
        }
        let next = self.next_after(now);
        let latest = self.latest_until(now).unwrap_or(planned);
        let on_time = latest == planned && now - planned <= ON_TIME;
        let fire = match (on_time, catch_up) {
            (true, _) => Some(planned),
            (false, CatchUp::Last) => Some(latest),
            (false, CatchUp::None) => None,
        };
        Plan { fire, next }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn weekday_mornings_fire_in_the_dealerships_zone() {
        let s = Schedule::parse("0 9 * * MON-FRI", "America/Chicago").unwrap();
        // Friday 2026-11-20 10:00 CST (16:00 UTC): next is Monday 09:00 CST (15:00 UTC).
        assert_eq!(
            s.next_after(utc(2026, 11, 20, 16, 0, 0)),
            Some(utc(2026, 11, 23, 15, 0, 0))
        );
        // In summer the same local time is 14:00 UTC (CDT).
        assert_eq!(
            s.next_after(utc(2026, 7, 1, 0, 0, 0)),
            Some(utc(2026, 7, 1, 14, 0, 0))
        );
    }

    #[test]
    fn six_fields_take_seconds_first() {
        let s = Schedule::parse("*/30 * * * * *", "UTC").unwrap();
        assert_eq!(
            s.next_after(utc(2026, 1, 1, 10, 0, 10)),
            Some(utc(2026, 1, 1, 10, 0, 30))
        );
        assert_eq!(
            s.next_after(utc(2026, 1, 1, 10, 0, 30)),
            Some(utc(2026, 1, 1, 10, 1, 0))
        );
    }

    #[test]
    fn daylight_saving_changes_neither_skip_nor_double_a_daily_tick() {
        let s = Schedule::parse("30 1 * * *", "America/New_York").unwrap();
        // Fall back on 2026-11-01: 01:30 happens twice; the tick fires once.
        let first = s.next_after(utc(2026, 11, 1, 4, 0, 0)).unwrap();
        let after = s.next_after(first).unwrap();
        assert_eq!(after - first, TimeDelta::hours(25), "{first} then {after}");
        // Spring forward on 2026-03-08: 02:30 does not exist that day, so the tick fires when
        // the gap ends (03:00 EDT); none is lost on the days around it and none doubles.
        let gap = Schedule::parse("30 2 * * *", "America/New_York").unwrap();
        let before = gap.next_after(utc(2026, 3, 7, 12, 0, 0)).unwrap();
        let during = gap.next_after(before).unwrap();
        let after = gap.next_after(during).unwrap();
        assert_eq!(
            before,
            utc(2026, 3, 8, 7, 0, 0),
            "03:00 EDT on the day of the gap"
        );
        assert_eq!(during, utc(2026, 3, 9, 6, 30, 0), "02:30 EDT the day after");
        assert!(during > before && after > during);
        assert_eq!(
            after - during,
            TimeDelta::hours(24),
            "{before} {during} {after}"
        );
        // An hourly schedule follows real time across the change.
        let hourly = Schedule::parse("0 * * * *", "America/New_York").unwrap();
        let a = hourly.next_after(utc(2026, 11, 1, 4, 30, 0)).unwrap();
        let b = hourly.next_after(a).unwrap();
        assert_eq!(b - a, TimeDelta::hours(1), "{a} then {b}");
    }

    #[test]
    fn bad_patterns_and_zones_are_refused_naming_the_field() {
        let refusal = |cron, zone| {
            let e = Schedule::parse(cron, zone).unwrap_err();
            (e.field, e.issue)
        };
        let (field, issue) = refusal("0 9 * *", "UTC");
        assert!(field == "cron" && issue.contains("5 fields"), "{issue}");
        assert_eq!(refusal("0 0 9 * * * 2026", "UTC").0, "cron");
        let (field, issue) = refusal("0 25 * * *", "UTC");
        assert!(field == "cron" && issue.contains("invalid cron"), "{issue}");
        let (field, issue) = refusal("0 9 * * *", "Mars/Olympus");
        assert!(
            field == "timezone" && issue.contains("time zone"),
            "{issue}"
        );
    }

    #[test]
    fn a_trigger_config_gives_its_schedule_with_utc_and_no_catch_up_by_default() {
        let (s, catch_up) = schedule_of(&serde_json::json!({"cron": "0 9 * * *"})).unwrap();
        assert_eq!(catch_up, CatchUp::None);
        assert_eq!(
            s.next_after(utc(2026, 1, 1, 0, 0, 0)),
            Some(utc(2026, 1, 1, 9, 0, 0))
        );
        let config = serde_json::json!({"cron": "0 9 * * *", "timezone": "Europe/Berlin", "catch_up": "last"});
        let (s, catch_up) = schedule_of(&config).unwrap();
        assert_eq!(catch_up, CatchUp::Last);
        assert_eq!(
            s.next_after(utc(2026, 1, 1, 0, 0, 0)),
            Some(utc(2026, 1, 1, 8, 0, 0))
        );
        assert_eq!(
            schedule_of(&serde_json::json!({})).unwrap_err().field,
            "cron"
        );
    }

    #[test]
    fn an_on_time_tick_fires_and_the_next_one_is_planned() {
        let s = Schedule::parse("0 * * * *", "UTC").unwrap();
        let planned = utc(2026, 3, 1, 10, 0, 0);
        let plan = s.plan(planned, planned + TimeDelta::seconds(2), CatchUp::None);
        assert_eq!(plan.fire, Some(planned));
        assert_eq!(plan.next, Some(utc(2026, 3, 1, 11, 0, 0)));
        let early = s.plan(planned, planned - TimeDelta::seconds(1), CatchUp::None);
        assert_eq!((early.fire, early.next), (None, Some(planned)));
    }

    #[test]
    fn missed_ticks_are_skipped_or_fired_once_for_the_latest() {
        let s = Schedule::parse("0 * * * *", "UTC").unwrap();
        let planned = utc(2026, 3, 1, 10, 0, 0);
        // Down from 09:59 to 13:20: four ticks missed.
        let now = utc(2026, 3, 1, 13, 20, 0);
        let skip = s.plan(planned, now, CatchUp::None);
        assert_eq!(
            (skip.fire, skip.next),
            (None, Some(utc(2026, 3, 1, 14, 0, 0)))
        );
        let last = s.plan(planned, now, CatchUp::Last);
        assert_eq!(last.fire, Some(utc(2026, 3, 1, 13, 0, 0)));
        assert_eq!(last.next, Some(utc(2026, 3, 1, 14, 0, 0)));
        // One tick, but found long after it: late, so missed.
        let late = s.plan(planned, planned + TimeDelta::minutes(20), CatchUp::None);
        assert_eq!(late.fire, None);
    }
}
