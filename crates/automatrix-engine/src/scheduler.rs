//! The scheduler: starts the workflows whose trigger is `trigger.schedule`.
//!
//! The store keeps each active scheduled workflow's next tick. A scheduler lists the ticks that
//! are due and takes each one by moving it to the following tick in the same transaction that
//! creates the execution: of several schedulers (one per `serve` or `worker` process), exactly
//! one takes a tick, and a tick taken before a restart is not taken again.

use std::time::Duration;

use automatrix_core::definition::raw_config;
use automatrix_core::{CatchUp, SCHEDULE_TRIGGER, Schedule, schedule_of};
use automatrix_store::{NewExecution, ScheduledTick};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::EngineError;
use crate::service::Engine;

/// Due ticks read per query.
const BATCH: u32 = 100;

/// How long past a whole second the scheduler looks: a tick on the second is then seen at
/// once, with a margin for clocks that differ a little between processes.
const AFTER_THE_SECOND: Duration = Duration::from_millis(20);

/// The schedule of a definition whose trigger is `trigger.schedule`.
pub(crate) fn schedule_in(definition: &Value) -> Option<(Schedule, CatchUp)> {
    schedule_of(raw_config(definition, SCHEDULE_TRIGGER)?).ok()
}

/// The first tick after `now` of a definition's schedule, if it has one.
pub(crate) fn next_tick(definition: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule_in(definition).and_then(|(schedule, _)| schedule.next_after(now))
}

impl Engine {
    /// Fires every tick due at `now` (the scheduler's clock: the wall clock, or a test's);
    /// returns how many executions started. Each tick starts at most one execution, however
    /// many schedulers call this at once.
    pub async fn fire_due_schedules(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let mut started = 0;
        loop {
            let due = self.store().due_ticks(now, BATCH).await?;
            for tick in &due {
                started += usize::from(self.take_tick(tick, now).await?);
            }
            // A taken tick moves past `now`, and one another scheduler took is gone from the
            // list too: a full batch means there may be more.
            if due.len() < BATCH as usize {
                return Ok(started);
            }
        }
    }

    /// Takes one due tick: fires it when it is on time (or, late, when the schedule catches
    /// up), and plans the next. True when this call started an execution.
    async fn take_tick(
        &self,
        tick: &ScheduledTick,
        now: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        let workflow = self
            .store()
            .get_workflow(tick.organization_id, tick.workflow_id)
            .await?
            .filter(|w| w.is_active);
        let Some((workflow, (schedule, catch_up))) =
            workflow.and_then(|w| schedule_in(&w.definition.0).map(|s| (w, s)))
        else {
            // No longer an active schedule (a change raced with planning): forget the tick.
            self.store().take_tick(tick, None, None, Utc::now()).await?;
            return Ok(false);
        };
        let plan = schedule.plan(tick.next_run_at, now, catch_up);
        // `now` is when the scheduler looks (a test's clock may run ahead); the execution is
        // created, and due, when it is written.
        let created = Utc::now();
        let fire = plan.fire.map(|at| NewExecution {
            id: Uuid::now_v7(),
            organization_id: workflow.organization_id,
            workflow_id: workflow.id,
            workflow_version: workflow.version,
            input: json!({"scheduled_for": at.to_rfc3339_opts(SecondsFormat::Secs, true)}),
            dry_run: false,
            now: created,
            lease: None,
            origin: Default::default(),
        });
        let fires = fire.is_some();
        if !fires {
            tracing::info!(workflow = %workflow.id, missed = %tick.next_run_at, "schedule: skipped a missed tick");
        }
        let started = self
            .store()
            .take_tick(tick, plan.next, fire, created)
            .await?
            && fires;
        if started {
            tracing::debug!(workflow = %workflow.id, scheduled_for = %plan.fire.unwrap_or(now), "schedule: fired a tick");
            self.wake_worker();
        }
        Ok(started)
    }

    /// Fires due ticks just after every whole second until `shutdown`.
    pub async fn run_scheduler(self, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.fire_due_schedules(Utc::now()).await {
                tracing::warn!(error = %e, "scheduler: firing due ticks failed");
            }
            let into_second = u64::from(Utc::now().timestamp_subsec_millis());
            let wait = Duration::from_millis(1000 - into_second.min(999)) + AFTER_THE_SECOND;
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_schedule_trigger_has_ticks() {
        let at = "2026-11-22T12:00:00Z".parse().unwrap();
        let scheduled = json!({"nodes": [{"id": "t", "type": "trigger.schedule", "config": {"cron": "0 9 * * *", "timezone": "America/Chicago"}}]});
        assert_eq!(
            next_tick(&scheduled, at),
            Some("2026-11-22T15:00:00Z".parse().unwrap())
        );
        let manual = json!({"nodes": [{"id": "t", "type": "trigger.manual", "config": {}}]});
        assert_eq!(next_tick(&manual, at), None);
        assert_eq!(next_tick(&json!({}), at), None);
    }
}
