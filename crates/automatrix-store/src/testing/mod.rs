//! Conformance suite: the promises every [`Store`] keeps, checked the same way on every backend.
//!
//! Each public `async fn` here asserts one promise of the contract of [`Store`] and its
//! super-traits, and panics with a message naming it when the store breaks it:
//!
//! - users: an organization and its first user are created together; an email (any case) is
//!   registered once; a refresh token is spent once, even by two concurrent refreshes, and
//!   revoking a family or a user's tokens revokes exactly those; sessions are listed and
//!   revoked per user;
//! - MFA: a secret is enabled once and only as set up, a time step and a recovery code are
//!   accepted once, a login challenge is spent once and tried at most its attempts; a
//!   throttled key backs off and counts concurrent attempts in full;
//! - workflows: version 1 is stored on create; only a changed definition makes a new version
//!   (recording the version it restores, if any),
//!   and concurrent changes get consecutive ones; lists are newest first with keyset pages;
//!   deleting removes versions, executions, steps and jobs; a webhook token names one workflow;
//! - tenancy: every tenant row belongs to an existing organization, and another organization
//!   can neither see nor change it;
//! - executions: creating one enqueues its job; lists filter and page by keyset; steps are
//!   kept per attempt and listed in the order they started;
//! - queue: the due and running jobs are counted; a due job is claimed once, concurrent claimers never share a job, an expired lease
//!   is re-claimed and fences the old holder (`Stale`), finishing never overwrites a cancelled
//!   execution, and cancelling a pending execution leaves nothing to claim;
//! - credentials: a name is taken once per organization, data stays as sealed, and no other
//!   organization reaches them; the key rotation replaces every sealed value at once or none; key-value entries belong to one workflow, expire, and
//!   concurrent increments and first sightings are atomic;
//! - AI: a route is one per alias and organization; accounted calls are totalled and grouped
//!   by day, model or workflow within their window, and outlive their workflow; a budget is one
//!   per organization;
//! - metrics: a summary counts an organization's executions created in its range (no others)
//!   by status, workflow and bucket, every bucket present; its run time percentiles are
//!   nearest-rank over finished executions that started; it totals the range's AI calls;
//! - API keys: a name is taken once per organization, a key is found by its hash in any
//!   organization until deleted, no other organization reaches it, and a use is recorded at
//!   most once per window, even by concurrent uses;
//! - lifecycle: a suspended execution is due at its time or once decided (and a decision is
//!   taken once), a released job is claimable at once, only failed executions are retried, a
//!   follow-up execution is queued with the outcome, and old finished executions are pruned
//!   in batches with their steps while unfinished ones stay.
//!
//! The promises live in one file per store trait (`users`, `workflows`, `executions`, `queue`,
//! `vault`, `ai`, `metrics`, `api_keys`, `templates`, `orgs`, `audit`, `sso`),
//! plus `tenancy` for the rules that cut across them; `fixtures` builds what they start from.
//!
//! Store crates run the suite with [`conformance_tests!`](crate::conformance_tests) and a
//! [`StoreFixture`] that makes a fresh database per test. The functions clean up the jobs they
//! create, so [`run_all`] can also run them one after another on one store; they must not run
//! concurrently on one store, because a claim takes any tenant's due job.

use std::future::Future;
use std::sync::Arc;

use crate::Store;

/// Awaits a store call that must succeed; a failure names the call and the line it is on.
macro_rules! ok {
    ($call:expr) => {
        $call.await.expect(stringify!($call))
    };
}

mod ai;
mod api_keys;
mod audit;
mod executions;
mod fixtures;
mod lifecycle;
mod live;
mod metrics;
mod mfa;
mod orgs;
mod queue;
mod sso;
mod templates;
mod tenancy;
mod users;
mod vault;
mod workflows;

pub use ai::*;
pub use api_keys::*;
pub use audit::*;
pub use executions::*;
pub use fixtures::{new_execution, new_tenant, new_workflow, now, past_execution};
pub use lifecycle::*;
pub use live::*;
pub use metrics::*;
pub use mfa::*;
pub use orgs::*;
pub use queue::*;
pub use sso::*;
pub use templates::*;
pub use tenancy::*;
pub use users::*;
pub use vault::*;
pub use workflows::*;

/// Makes a fresh, migrated store for one test and removes it afterwards.
pub trait StoreFixture: Sized + Send {
    /// A fresh store, or `None` when the backend is not available here (the test is skipped;
    /// the fixture says why on stdout).
    fn create() -> impl Future<Output = Option<Self>> + Send;
    fn store(&self) -> Arc<dyn Store>;
    /// Closes the store and deletes its database.
    fn destroy(self) -> impl Future<Output = ()> + Send;
}

/// Runs `test` against a fresh store from `F`, and destroys the store even when `test` panics.
pub async fn run_with_fixture<F, T, Fut>(test: T)
where
    F: StoreFixture,
    T: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(fixture) = F::create().await else {
        return;
    };
    // A panic inside a spawned task comes back as an error instead of unwinding past cleanup.
    let outcome = tokio::spawn(test(fixture.store())).await;
    fixture.destroy().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("conformance test did not finish: {e}"),
        }
    }
}

/// One `#[tokio::test]` per promise (plus one for [`run_all`] on a shared store), each on a
/// fresh store from the [`StoreFixture`] type given. The calling crate needs `tokio` with
/// `macros` and `rt`.
///
/// ```ignore
/// automatrix_store::conformance_tests!(SqliteFixture);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:ty) => {
        $crate::conformance_tests!(@each $fixture;
            user_and_organization_are_created_together,
            an_email_is_registered_once,
            a_password_update_is_persisted,
            a_refresh_token_is_spent_once,
            revoking_tokens_revokes_exactly_those,
            mfa_is_enabled_once_with_the_secret_set_up,
            a_time_step_and_a_recovery_code_are_accepted_once,
            an_mfa_challenge_is_tried_a_limited_number_of_times_and_spent_once,
            sessions_are_listed_and_revoked_per_user,
            a_throttled_key_backs_off_and_counts_concurrent_attempts,
            a_new_workflow_is_stored_as_version_one,
            a_webhook_token_names_one_workflow,
            a_webhook_token_finds_its_workflow_in_any_organization,
            a_scheduled_tick_is_taken_once,
            a_schedule_is_planned_only_while_its_workflow_is_active,
            workflows_are_listed_newest_first_in_pages,
            only_a_changed_definition_makes_a_new_version,
            concurrent_updates_make_consecutive_versions,
            deleting_a_workflow_removes_everything_under_it,
            another_organization_cannot_reach_tenant_rows,
            tenant_rows_need_an_existing_organization,
            creating_an_execution_enqueues_its_job,
            an_execution_keeps_its_request_id_and_its_job_the_trace_context,
            an_idempotency_key_starts_one_execution_while_fresh,
            executions_are_filtered_and_paged_newest_first,
            steps_are_kept_per_attempt_and_listed_in_start_order,
            a_due_job_is_claimed_once,
            claiming_the_next_job_starts_its_execution,
            concurrent_claimers_never_share_a_job,
            an_expired_lease_is_reclaimed_and_fences_the_old_holder,
            the_queue_counts_due_and_running_jobs,
            a_held_back_step_is_written_with_the_next_and_fenced_alike,
            the_last_steps_are_written_with_the_outcome_and_fenced_alike,
            starting_keeps_the_first_start_time_and_skips_finished_executions,
            finishing_records_the_outcome_and_removes_the_job,
            finishing_leaves_a_cancelled_execution_cancelled,
            cancelling_leaves_nothing_to_claim,
            a_suspended_execution_waits_until_due_or_decided,
            a_released_job_is_claimable_at_once,
            only_a_failed_execution_is_retried,
            a_follow_up_is_queued_with_the_outcome,
            old_finished_executions_are_pruned_in_batches,
            the_store_answers_a_ping,
            credentials_are_named_once_per_organization_and_kept_sealed,
            sealed_values_are_replaced_all_at_once_or_not_at_all,
            kv_entries_belong_to_one_workflow_and_expire,
            concurrent_increments_all_count,
            concurrent_sets_if_absent_store_once,
            ai_routes_are_one_per_alias_and_organization,
            ai_usage_is_reported_by_day_model_and_workflow,
            ai_cost_since_counts_a_deleted_workflows_calls,
            an_ai_budget_is_one_per_organization,
            an_execution_summary_counts_by_status_bucket_and_workflow,
            an_execution_summary_is_filtered_by_workflow_and_bucketed_by_day,
            api_keys_are_named_once_per_organization_and_found_by_hash,
            an_api_key_use_is_recorded_once_per_window,
            builtin_templates_are_upserted_by_slug_and_seen_by_every_organization,
            an_organizations_templates_are_its_own,
            a_user_belongs_to_several_organizations_first_one_first,
            the_last_owner_stays,
            an_invitation_is_accepted_once,
            an_organizations_log_holds_its_changes_and_its_members_sign_ins,
            an_sso_state_is_spent_once_and_not_after_it_expires,
            an_sso_domain_belongs_to_one_organization,
            an_sso_account_is_created_as_a_member,
            a_ws_ticket_is_redeemed_once_and_not_after_it_expires,
            live_events_reach_every_subscriber_where_processes_share_the_database,
        );

        #[tokio::test]
        async fn all_promises_hold_one_after_another_on_one_store() {
            $crate::testing::run_with_fixture::<$fixture, _, _>($crate::testing::run_all).await;
        }
    };
    (@each $fixture:ty; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::testing::run_with_fixture::<$fixture, _, _>(|store| async move {
                    $crate::testing::$name(&*store).await
                })
                .await;
            }
        )+
    };
}

/// Runs every promise, one after another, on `store` (keep in step with
/// [`conformance_tests!`](crate::conformance_tests)).
pub async fn run_all(store: Arc<dyn Store>) {
    let s = &*store;
    user_and_organization_are_created_together(s).await;
    an_email_is_registered_once(s).await;
    a_password_update_is_persisted(s).await;
    a_refresh_token_is_spent_once(s).await;
    revoking_tokens_revokes_exactly_those(s).await;
    mfa_is_enabled_once_with_the_secret_set_up(s).await;
    a_time_step_and_a_recovery_code_are_accepted_once(s).await;
    an_mfa_challenge_is_tried_a_limited_number_of_times_and_spent_once(s).await;
    sessions_are_listed_and_revoked_per_user(s).await;
    a_throttled_key_backs_off_and_counts_concurrent_attempts(s).await;
    a_new_workflow_is_stored_as_version_one(s).await;
    a_webhook_token_names_one_workflow(s).await;
    a_webhook_token_finds_its_workflow_in_any_organization(s).await;
    a_scheduled_tick_is_taken_once(s).await;
    a_schedule_is_planned_only_while_its_workflow_is_active(s).await;
    workflows_are_listed_newest_first_in_pages(s).await;
    only_a_changed_definition_makes_a_new_version(s).await;
    concurrent_updates_make_consecutive_versions(s).await;
    deleting_a_workflow_removes_everything_under_it(s).await;
    another_organization_cannot_reach_tenant_rows(s).await;
    tenant_rows_need_an_existing_organization(s).await;
    creating_an_execution_enqueues_its_job(s).await;
    an_execution_keeps_its_request_id_and_its_job_the_trace_context(s).await;
    an_idempotency_key_starts_one_execution_while_fresh(s).await;
    executions_are_filtered_and_paged_newest_first(s).await;
    steps_are_kept_per_attempt_and_listed_in_start_order(s).await;
    a_due_job_is_claimed_once(s).await;
    claiming_the_next_job_starts_its_execution(s).await;
    concurrent_claimers_never_share_a_job(s).await;
    an_expired_lease_is_reclaimed_and_fences_the_old_holder(s).await;
    the_queue_counts_due_and_running_jobs(s).await;
    a_held_back_step_is_written_with_the_next_and_fenced_alike(s).await;
    the_last_steps_are_written_with_the_outcome_and_fenced_alike(s).await;
    starting_keeps_the_first_start_time_and_skips_finished_executions(s).await;
    finishing_records_the_outcome_and_removes_the_job(s).await;
    finishing_leaves_a_cancelled_execution_cancelled(s).await;
    cancelling_leaves_nothing_to_claim(s).await;
    a_suspended_execution_waits_until_due_or_decided(s).await;
    a_released_job_is_claimable_at_once(s).await;
    only_a_failed_execution_is_retried(s).await;
    a_follow_up_is_queued_with_the_outcome(s).await;
    old_finished_executions_are_pruned_in_batches(s).await;
    the_store_answers_a_ping(s).await;
    credentials_are_named_once_per_organization_and_kept_sealed(s).await;
    sealed_values_are_replaced_all_at_once_or_not_at_all(s).await;
    kv_entries_belong_to_one_workflow_and_expire(s).await;
    concurrent_increments_all_count(s).await;
    concurrent_sets_if_absent_store_once(s).await;
    ai_routes_are_one_per_alias_and_organization(s).await;
    ai_usage_is_reported_by_day_model_and_workflow(s).await;
    ai_cost_since_counts_a_deleted_workflows_calls(s).await;
    an_ai_budget_is_one_per_organization(s).await;
    an_execution_summary_counts_by_status_bucket_and_workflow(s).await;
    an_execution_summary_is_filtered_by_workflow_and_bucketed_by_day(s).await;
    api_keys_are_named_once_per_organization_and_found_by_hash(s).await;
    an_api_key_use_is_recorded_once_per_window(s).await;
    builtin_templates_are_upserted_by_slug_and_seen_by_every_organization(s).await;
    an_organizations_templates_are_its_own(s).await;
    a_user_belongs_to_several_organizations_first_one_first(s).await;
    the_last_owner_stays(s).await;
    an_invitation_is_accepted_once(s).await;
    an_organizations_log_holds_its_changes_and_its_members_sign_ins(s).await;
    an_sso_state_is_spent_once_and_not_after_it_expires(s).await;
    an_sso_domain_belongs_to_one_organization(s).await;
    an_sso_account_is_created_as_a_member(s).await;
    a_ws_ticket_is_redeemed_once_and_not_after_it_expires(s).await;
    live_events_reach_every_subscriber_where_processes_share_the_database(s).await;
}

pub async fn the_store_answers_a_ping(store: &dyn Store) {
    ok!(store.ping());
    assert!(
        ["sqlite", "postgres"].contains(&store.backend()),
        "backend {}",
        store.backend()
    );
}
