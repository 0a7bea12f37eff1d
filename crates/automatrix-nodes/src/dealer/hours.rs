//! Business hours: whether a dealership (or its service desk, or its BDC) is open at a moment,
//! in its time zone, and when it next opens or closes.

use std::collections::BTreeMap;

use automatrix_core::{ConfigIssue, time_zone};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// Day keys, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// How far ahead the next opening is looked for.
const HORIZON_DAYS: i64 = 366;

/// A week of opening hours in a zone, with holidays.
#[derive(Clone, Debug)]
pub struct Hours {
    zone: Tz,
    /// Per weekday (Monday first): opening intervals, start before end.
    week: [Vec<(NaiveTime, NaiveTime)>; 7],
    holidays: Vec<NaiveDate>,
}

/// Open or not at a moment, and the next change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub open: bool,
    pub at: String,
    pub local_time: String,
    /// When the current opening ends; null while closed.
    pub closes_at: Option<String>,
    /// When the next opening starts; null while open (and when none is within a year).
    pub next_open: Option<String>,
}

impl Hours {
    /// `hours`: per day key, intervals as `HH:MM-HH:MM` (`24:00` ends at midnight); a day left
    /// out is closed. `holidays`: `YYYY-MM-DD` dates closed all day.
    pub fn parse(
        timezone: &str,
        hours: &BTreeMap<String, Vec<String>>,
        holidays: &[String],
    ) -> Result<Self, ConfigIssue> {
        let zone = time_zone(timezone, "timezone")?;
        let mut week: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for (day, intervals) in hours {
            let Some(d) = DAYS.iter().position(|k| k == day) else {
                return Err(ConfigIssue {
                    field: format!("hours.{day}"),
                    issue: "not a day: use mon, tue, wed, thu, fri, sat or sun".into(),
                });
            };
            for (i, text) in intervals.iter().enumerate() {
                let field = format!("hours.{day}[{i}]");
                let interval = interval(text).ok_or_else(|| ConfigIssue {
                    field: field.clone(),
                    issue: format!("`{text}` is not `HH:MM-HH:MM` with the start before the end"),
                })?;
                week[d].push(interval);
            }
            week[d] = merged(std::mem::take(&mut week[d]));
        }
        let holidays = holidays
            .iter()
            .enumerate()
            .map(|(i, h)| {
                NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| ConfigIssue {
                    field: format!("holidays[{i}]"),
                    issue: format!("`{h}` is not a date (YYYY-MM-DD)"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            zone,
            week,
            holidays,
        })
    }

    /// Open or not at `at`, and the next change.
    pub fn status(&self, at: DateTime<Utc>) -> Status {
        let local = at.with_timezone(&self.zone);
        let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut status = Status {
            open: false,
            at: iso(at),
            local_time: local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            closes_at: None,
            next_open: None,
        };
        for offset in -1..=HORIZON_DAYS {
            let day = local.date_naive() + Duration::days(offset);
            for (start, end) in self.openings(day) {
                if end <= at {
                    continue;
                }
                if start <= at {
                    status.open = true;
                    status.closes_at = Some(iso(end));
                } else if !status.open {
                    status.next_open = Some(iso(start));
                }
                return status;
            }
        }
        status
    }

    /// The openings of a local date, as instants.
    fn openings(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        let index = day.weekday().num_days_from_monday() as usize;
        self.week[index]
            .iter()
            .filter_map(|(start, end)| {
                let start = self.instant(day, *start)?;
                let end = if *end == NaiveTime::MIN {
                    self.instant(day + Duration::days(1), NaiveTime::MIN)?
                } else {
                    self.instant(day, *end)?
                };
                Some((start, end))
            })
            .collect()
    }

    /// A local time of a date as an instant; a time that does not exist that day (spring
    /// forward) is the first one after the gap.
    fn instant(&self, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        let local = day.and_time(time);
        (0..4).find_map(|hours| {
            self.zone
                .from_local_datetime(&(local + Duration::hours(hours)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
    }
}

/// A day's intervals in order, those that touch or overlap made one (an end at midnight,
/// held as 00:00, is the latest).
fn merged(mut intervals: Vec<(NaiveTime, NaiveTime)>) -> Vec<(NaiveTime, NaiveTime)> {
    let late = |t: NaiveTime| if t == NaiveTime::MIN { None } else { Some(t) };
    intervals.sort();
    let mut out: Vec<(NaiveTime, NaiveTime)> = Vec::new();
    for (start, end) in intervals {
        if let Some(last) = out.last_mut()
            && late(last.1).is_none_or(|e| start <= e)
        {
            // `None` (midnight) sorts after every time of the day.
            if late(last.1).is_some() && late(end).is_none_or(|e| e > last.1) {
                last.1 = end;
            }
            continue;
        }
        out.push((start, end));
    }
    out
}

/// `HH:MM-HH:MM`, the start before the end; `24:00` as the end is midnight after the day
/// (held as 00:00).
fn interval(text: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = text.trim().split_once('-')?;
    let start = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let end = match b.trim() {
        "24:00" => NaiveTime::MIN,
        other => NaiveTime::parse_from_str(other, "%H:%M").ok()?,
    };
    (end == NaiveTime::MIN || start < end).then_some((start, end))
}

/// The weekday key of a weekday.
#[cfg(test)]
fn key(day: chrono::Weekday) -> &'static str {
    DAYS[day.num_days_from_monday() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_hours() -> Hours {
        let mut hours = BTreeMap::new();
        for day in ["mon", "tue", "wed", "thu", "fri"] {
            hours.insert(
                day.to_owned(),
                vec!["09:00-12:00".to_owned(), "13:00-18:00".to_owned()],
            );
        }
        hours.insert("sat".to_owned(), vec!["10:00-16:00".to_owned()]);
        Hours::parse("America/Chicago", &hours, &["2026-11-26".to_owned()]).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn open_hours_say_when_they_close_and_closed_ones_when_they_open() {
        let h = store_hours();
        // Monday 2026-11-23 10:00 CST = 16:00 UTC: open until noon.
        let s = h.status(utc("2026-11-23T16:00:00Z"));
        assert!(s.open);
        assert_eq!(s.closes_at.as_deref(), Some("2026-11-23T18:00:00Z"));
        assert_eq!(s.local_time, "2026-11-23T10:00:00-06:00");
        // Lunch: opens again at 13:00 CST.
        let s = h.status(utc("2026-11-23T18:30:00Z"));
        assert!(!s.open);
        assert_eq!(s.next_open.as_deref(), Some("2026-11-23T19:00:00Z"));
        // Saturday evening: Monday 09:00 CST (Sunday is closed).
        let s = h.status(utc("2026-11-29T01:00:00Z"));
        assert_eq!(s.next_open.as_deref(), Some("2026-11-30T15:00:00Z"));
        // Wednesday evening before Thanksgiving (a holiday): Friday 09:00.
        let s = h.status(utc("2026-11-26T01:00:00Z"));
        assert_eq!(s.next_open.as_deref(), Some("2026-11-27T15:00:00Z"));
        assert_eq!(key(chrono::Weekday::Sat), "sat");
    }

    #[test]
    fn hours_follow_daylight_saving_time() {
        let h = store_hours();
        // Monday 2026-07-06 09:00 CDT is 14:00 UTC.
        let s = h.status(utc("2026-07-06T13:59:00Z"));
        assert_eq!(s.next_open.as_deref(), Some("2026-07-06T14:00:00Z"));
    }

    #[test]
    fn a_day_until_midnight_and_bad_configs() {
        let mut hours = BTreeMap::new();
        hours.insert("fri".to_owned(), vec!["20:00-24:00".to_owned()]);
        let h = Hours::parse("UTC", &hours, &[]).unwrap();
        let s = h.status(utc("2026-11-27T23:30:00Z"));
        assert_eq!(
            (s.open, s.closes_at.as_deref()),
            (true, Some("2026-11-28T00:00:00Z"))
        );
        let bad = |hours: &[(&str, &str)], holidays: &[&str], zone: &str| {
            let hours = hours
                .iter()
                .map(|(d, i)| ((*d).to_owned(), vec![(*i).to_owned()]))
                .collect();
            let holidays: Vec<String> = holidays.iter().map(|h| (*h).to_owned()).collect();
            Hours::parse(zone, &hours, &holidays).unwrap_err().field
        };
        let mut touching = BTreeMap::new();
        touching.insert(
            "mon".to_owned(),
            vec!["12:00-18:00".to_owned(), "09:00-12:00".to_owned()],
        );
        let h = Hours::parse("UTC", &touching, &[]).unwrap();
        let s = h.status(utc("2026-11-23T10:00:00Z"));
        assert_eq!(
            s.closes_at.as_deref(),
            Some("2026-11-23T18:00:00Z"),
            "one opening"
        );
        assert_eq!(bad(&[("mon", "18:00-09:00")], &[], "UTC"), "hours.mon[0]");
        assert_eq!(bad(&[("mon", "9-5")], &[], "UTC"), "hours.mon[0]");
        assert_eq!(
            bad(&[("monday", "09:00-17:00")], &[], "UTC"),
            "hours.monday"
        );
        assert_eq!(bad(&[], &["25/12/2026"], "UTC"), "holidays[0]");
        assert_eq!(bad(&[], &[], "Mars/Base"), "timezone");
    }
}
