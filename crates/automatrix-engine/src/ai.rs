//! AI routes, accounting and budgets: the rules that need more than the store. A route must
//! name provider credentials of its own organization; a budget is per UTC calendar month, and
//! an organization whose month's spend has reached it gets no more AI calls
//! ([`Engine::ai_budget_check`], which the gateway runs before every provider call).

use automatrix_core::Problem;
use automatrix_core::ai::{AiUsage, PROVIDER_KINDS, Route, valid_alias};
use automatrix_store::{AiBudget, AiCallStatus, AiRouteRow, NewAiUsage, Store, StoreError};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use uuid::Uuid;

use crate::live::{LiveBus, LiveEvent, Notification, NotificationKind};
use crate::{Engine, EngineError};

/// The first instant of `now`'s UTC calendar month: where a month's spend starts.
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// The first instant of the UTC calendar month after `now`'s.
pub fn next_month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// The usage row of one AI call made for `org` (and `workflow`, when a run made it).
pub fn usage_row(
    org: Uuid,
    workflow: Option<Uuid>,
    usage: AiUsage,
    now: DateTime<Utc>,
) -> NewAiUsage {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    NewAiUsage {
        id: Uuid::now_v7(),
        organization_id: org,
        workflow_id: workflow,
        execution_id: usage.execution_id,
        node_id: usage.node_id,
        route: usage.route,
        provider: usage.provider,
        model: usage.model,
        input_tokens: count(usage.input_tokens),
        output_tokens: count(usage.output_tokens),
        latency_ms: count(usage.latency_ms),
        cost_usd: usage.cost_usd,
        status: if usage.ok {
            AiCallStatus::Ok
        } else {
            AiCallStatus::Error
        },
        created_at: now,
    }
}

/// Records one AI call's usage (and counts it in `metrics`). When its cost carries the month's spend across the budget's
/// alert share, or across the budget itself, the organization hears of it (a
/// [`NotificationKind::BudgetAlert`]); a spend that cannot be read then only skips the notice.
pub(crate) async fn record_usage(
    store: &dyn Store,
    live: &LiveBus,
    metrics: &crate::metrics::Metrics,
    row: NewAiUsage,
) -> Result<(), StoreError> {
    metrics.ai_call(&row);
    let (org, cost, at) = (row.organization_id, row.cost_usd, row.created_at);
    store.record_ai_usage(row).await?;
    if cost <= 0.0 {
        return Ok(());
    }
    match budget_status(store, org, at).await {
        Ok(status) => {
            if let Some(notice) = budget_notice(org, &status, cost, at) {
                live.publish(LiveEvent::Notification(notice));
            }
        }
        Err(e) => tracing::warn!(error = %e, "the AI budget could not be read for its alert"),
    }
    Ok(())
}

/// The notice for a call of `cost` that brought the spend to `status`, if it crossed a line.
fn budget_notice(
    org: Uuid,
    status: &AiBudgetStatus,
    cost: f64,
    at: DateTime<Utc>,
) -> Option<Notification> {
    let budget = status.budget.as_ref()?;
    let before = status.spent_usd - cost;
    let crossed = |line: f64| before < line && status.spent_usd >= line;
    let (level, message) = if crossed(budget.monthly_usd) {
        (
            "exhausted",
            format!(
                "the monthly AI budget of {:.2} USD is used up: AI calls are refused until \
                 next month or a raise (PUT /api/ai/budget)",
                budget.monthly_usd
            ),
        )
    } else if crossed(budget.alert_at * budget.monthly_usd) {
        (
            "alert",
            format!(
                "AI spend reached {:.0}% of the monthly budget ({:.2} of {:.2} USD)",
                budget.alert_at * 100.0,
                status.spent_usd,
                budget.monthly_usd
            ),
        )
    } else {
        return None;
    };
    Some(Notification {
        organization_id: org,
        kind: NotificationKind::BudgetAlert,
        message,
        workflow_id: None,
        execution_id: None,
        node_id: None,
        data: serde_json::json!({
            "level": level,
            "spent_usd": status.spent_usd,
            "monthly_usd": budget.monthly_usd,
            "alert_at": budget.alert_at,
        }),
        at,
    })
}

/// `org`'s budget and its spend in `now`'s UTC month.
pub(crate) async fn budget_status(
    store: &dyn Store,
    org: Uuid,
    now: DateTime<Utc>,
) -> Result<AiBudgetStatus, StoreError> {
    let budget = store.get_ai_budget(org).await?;
    let spent_usd = store.ai_cost_since(org, month_start(now)).await?;
    Ok(AiBudgetStatus { budget, spent_usd })
}

/// Whether `org` may make an AI call at `now`: `Err` with a message that says "budget" when
/// the month's spend has reached its budget. Without a budget there is no limit. The check
/// fails closed: when the spend cannot be read, the call is refused too (saying so), since an
/// unchecked call could overrun a hard limit.
pub(crate) async fn budget_check(
    store: &dyn Store,
    org: Uuid,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let unreadable = |e: StoreError| format!("the AI budget could not be checked: {e}");
    // Every AI call passes here: without a budget, the month's spend is not summed at all.
    let Some(budget) = store.get_ai_budget(org).await.map_err(unreadable)? else {
        return Ok(());
    };
    let spent_usd = store
        .ai_cost_since(org, month_start(now))
        .await
        .map_err(unreadable)?;
    let monthly_usd = budget.monthly_usd;
    let status = AiBudgetStatus {
        budget: Some(budget),
        spent_usd,
    };
    if !status.exhausted() {
        return Ok(());
    }
    Err(format!(
        "the organization's monthly AI budget of {monthly_usd:.2} USD is used up \
         ({spent_usd:.2} USD spent this month); raise it with PUT /api/ai/budget"
    ))
}

/// An organization's budget (if it set one) and what it spent this month.
#[derive(Clone, Debug)]
pub struct AiBudgetStatus {
    pub budget: Option<AiBudget>,
    /// US dollars spent since the start of the current UTC month.
    pub spent_usd: f64,
}

impl AiBudgetStatus {
    /// What is left of the month's budget (never below 0); `None` without a budget.
    pub fn remaining_usd(&self) -> Option<f64> {
        self.budget
            .as_ref()
            .map(|b| (b.monthly_usd - self.spent_usd).max(0.0))
    }

    /// Whether the month's spend has reached `alert_at` of the budget.
    pub fn alerting(&self) -> bool {
        self.budget
            .as_ref()
            .is_some_and(|b| self.spent_usd >= b.alert_at * b.monthly_usd)
    }

    /// Whether the month's spend has reached the budget: AI calls are refused.
    pub fn exhausted(&self) -> bool {
        self.budget
            .as_ref()
            .is_some_and(|b| self.spent_usd >= b.monthly_usd)
    }
}

impl Engine {
    /// Creates or replaces route `alias` of `org`; `true` when it was created. Checks the
    /// alias, the route itself and that every target names a provider credential of `org`
    /// (problems at `alias`, `targets[i].…`).
    pub async fn put_ai_route(
        &self,
        org: Uuid,
        alias: &str,
        route: Route,
    ) -> Result<(AiRouteRow, bool), EngineError> {
        let mut problems = Vec::new();
        if !valid_alias(alias) {
            problems.push(Problem {
                path: "alias".into(),
                issue: "must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting \
                        with a letter or digit"
                    .into(),
            });
        }
        problems.extend(route.problems());
        let credentials = self.store().list_credentials(org).await?;
        for (i, target) in route.targets.iter().enumerate() {
            let found = credentials.iter().find(|c| c.id == target.credential_id);
            let issue = match found {
                None => "no credential of this organization has this id".to_owned(),
                Some(c) if !PROVIDER_KINDS.contains(&c.kind.as_str()) => format!(
                    "names a `{}` credential; an AI target needs one of {}",
                    c.kind,
                    PROVIDER_KINDS.join(", ")
                ),
                Some(_) => continue,
            };
            problems.push(Problem {
                path: format!("targets[{i}].credential_id"),
                issue,
            });
        }
        if !problems.is_empty() {
            return Err(EngineError::InvalidAiRoute(problems));
        }
        Ok(self
            .store()
            .put_ai_route(org, alias, &route, Utc::now())
            .await?)
    }

    /// Accounts for one AI call (successful or not).
    pub async fn record_ai_usage(&self, usage: NewAiUsage) -> Result<(), EngineError> {
        Ok(record_usage(&**self.store(), self.live(), self.metrics(), usage).await?)
    }

    /// Sets `org`'s monthly budget: `monthly_usd` 0 or more (0 stops every AI call),
    /// `alert_at` above 0 and at most 1.
    pub async fn put_ai_budget(
        &self,
        org: Uuid,
        monthly_usd: f64,
        alert_at: f64,
    ) -> Result<AiBudget, EngineError> {
        let mut problems = Vec::new();
        if !(monthly_usd.is_finite() && monthly_usd >= 0.0) {
            problems.push(Problem {
                path: "monthly_usd".into(),
                issue: "must be an amount of 0 or more".into(),
            });
        }
        if !(alert_at > 0.0 && alert_at <= 1.0) {
            problems.push(Problem {
                path: "alert_at".into(),
                issue: "must be more than 0 and at most 1".into(),
            });
        }
        if !problems.is_empty() {
            return Err(EngineError::InvalidAiBudget(problems));
        }
        Ok(self
            .store()
            .put_ai_budget(org, monthly_usd, alert_at, Utc::now())
            .await?)
    }

    /// `org`'s budget and its spend in `now`'s UTC month.
    pub async fn ai_budget_status(
        &self,
        org: Uuid,
        now: DateTime<Utc>,
    ) -> Result<AiBudgetStatus, EngineError> {
        Ok(budget_status(&**self.store(), org, now).await?)
    }

    /// See [`budget_check`]: `Err` (saying "budget") when `org` may make no AI call at `now`.
    pub async fn ai_budget_check(&self, org: Uuid, now: DateTime<Utc>) -> Result<(), String> {
        budget_check(&**self.store(), org, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_its_first_instant_to_the_next_months() {
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(
            month_start(t),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            next_month_start(t),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
        let feb = Utc.with_ymd_and_hms(2028, 2, 29, 12, 0, 0).unwrap();
        assert_eq!(
            next_month_start(feb),
            Utc.with_ymd_and_hms(2028, 3, 1, 0, 0, 0).unwrap()
        );
    }

    fn status(monthly_usd: f64, spent_usd: f64) -> AiBudgetStatus {
        let now = Utc::now();
        AiBudgetStatus {
            budget: Some(AiBudget {
                organization_id: Uuid::nil(),
                monthly_usd,
                alert_at: 0.8,
                created_at: now,
                updated_at: now,
            }),
            spent_usd,
        }
    }

    #[test]
    fn a_budget_alerts_at_its_share_and_stops_at_its_amount() {
        let s = status(10.0, 7.99);
        assert_eq!((s.alerting(), s.exhausted()), (false, false));
        let s = status(10.0, 8.0);
        assert_eq!(
            (s.alerting(), s.exhausted(), s.remaining_usd()),
            (true, false, Some(2.0))
        );
        let s = status(10.0, 12.0);
        assert_eq!((s.exhausted(), s.remaining_usd()), (true, Some(0.0)));
        let none = AiBudgetStatus {
            budget: None,
            spent_usd: 100.0,
        };
        assert_eq!(
            (none.alerting(), none.exhausted(), none.remaining_usd()),
            (false, false, None)
        );
    }

    #[test]
    fn a_call_that_crosses_a_line_is_announced_once() {
        let level = |spent: f64, cost: f64| {
            budget_notice(Uuid::nil(), &status(10.0, spent), cost, Utc::now())
                .map(|n| n.data["level"].as_str().unwrap_or_default().to_owned())
        };
        assert_eq!(level(7.5, 0.4), None, "below the alert share");
        assert_eq!(level(8.2, 0.4), Some("alert".into()), "crossed 80 %");
        assert_eq!(
            level(8.0, 0.5),
            Some("alert".into()),
            "reached 80 % exactly"
        );
        assert_eq!(level(9.0, 0.5), None, "already past the alert share");
        assert_eq!(
            level(10.1, 0.5),
            Some("exhausted".into()),
            "crossed the budget"
        );
        assert_eq!(
            level(10.1, 5.0),
            Some("exhausted".into()),
            "both: the budget wins"
        );
        assert_eq!(level(12.0, 1.0), None, "already past the budget");
        let none = AiBudgetStatus {
            budget: None,
            spent_usd: 100.0,
        };
        assert!(budget_notice(Uuid::nil(), &none, 100.0, Utc::now()).is_none());
    }
}
