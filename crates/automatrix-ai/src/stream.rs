//! Streamed answers, provider-neutral: text as it comes, then the finish reason and the token
//! counts.

use std::fmt;
use std::pin::Pin;
use std::time::{Duration, Instant};

use automatrix_core::ai::Target;
use futures::{Stream, StreamExt};

use crate::gateway::Attempt;
use crate::provider::{ChatAnswer, ProviderError};

/// One piece of a streamed answer, provider-neutral.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// More text of the answer.
    Text(String),
    /// The answer ended, with the provider's finish reason in OpenAI's words ("stop",
    /// "length", ...; see [`openai_finish_reason`]).
    Finish(String),
    /// Token counts, when the provider reports them (OpenAI's usage chunk; Anthropic's
    /// `message_start` input tokens and `message_delta` output tokens, sent once at the end).
    Usage {
        input_tokens: u64,
        output_tokens: u64,
    },
}

/// A streamed answer's events. An `Err` item is the last one.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// A route's streamed answer: who answers and how it came to, and the events to come.
pub struct StreamingAnswer {
    /// The credential type that answers (`openai`, ..., or `mock`).
    pub provider: String,
    /// The target's model.
    pub model: String,
    /// The target that answers (the variant of a weighted route).
    pub target_index: usize,
    /// Every attempt, in order, the answering one last.
    pub attempts: Vec<Attempt>,
    pub events: EventStream,
    /// When the call began (for the latency).
    pub started: Instant,
    /// The answering target, for its prices; `None` for the mock.
    pub target: Option<Target>,
}

impl StreamingAnswer {
    /// What the answer costs by the target's prices ([`Target::cost_usd`]); 0 for the mock.
    pub fn cost_usd(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        self.target
            .as_ref()
            .map_or(0.0, |t| t.cost_usd(input_tokens, output_tokens))
    }
}

impl fmt::Debug for StreamingAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamingAnswer")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("target_index", &self.target_index)
            .field("attempts", &self.attempts)
            .field("started", &self.started)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// A finish reason in OpenAI's words: Anthropic's `end_turn`, `stop_sequence` and
/// `pause_turn` are `stop`, `max_tokens` is `length`, `tool_use` is `tool_calls`, `refusal` is
/// `content_filter`; any other reason is kept as it is.
pub fn openai_finish_reason(reason: &str) -> String {
    match reason {
        "end_turn" | "stop_sequence" | "pause_turn" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        other => other,
    }
    .to_owned()
}

/// A whole answer as a stream: its text (when not empty), its finish reason (`stop` when the
/// provider gave none) and its token counts.
pub(crate) fn answer_events(answer: ChatAnswer) -> EventStream {
    let text = (!answer.text.is_empty()).then_some(StreamEvent::Text(answer.text));
    let finish = answer
        .finish_reason
        .as_deref()
        .map_or_else(|| "stop".to_owned(), openai_finish_reason);
    let events = text.into_iter().chain([
        StreamEvent::Finish(finish),
        StreamEvent::Usage {
            input_tokens: answer.input_tokens,
            output_tokens: answer.output_tokens,
        },
    ]);
    futures::stream::iter(events.map(Ok)).boxed()
}

/// `events`, ended by `Err(Timeout)` when no event comes for `idle`. Keep-alive pings and
/// comments of the provider are not events, so they do not count.
pub(crate) fn with_idle_timeout(events: EventStream, idle: Duration) -> EventStream {
    futures::stream::unfold(Some(events), move |events| async move {
        let mut events = events?;
        match tokio::time::timeout(idle, events.next()).await {
            Ok(Some(Ok(event))) => Some((Ok(event), Some(events))),
            Ok(Some(Err(e))) => Some((Err(e), None)),
            Ok(None) => None,
            Err(_) => Some((Err(ProviderError::Timeout), None)),
        }
    })
    .boxed()
}

/// The events of an answer: each text, the finish reason, the tokens (tests).
#[cfg(test)]
pub(crate) fn answered(
    texts: &[&str],
    finish: &str,
    (input_tokens, output_tokens): (u64, u64),
) -> Vec<Result<StreamEvent, ProviderError>> {
    let texts = texts.iter().map(|t| StreamEvent::Text((*t).into()));
    let end = [
        StreamEvent::Finish(finish.into()),
        StreamEvent::Usage {
            input_tokens,
            output_tokens,
        },
    ];
    texts.chain(end).map(Ok).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_whole_answer_streams_as_text_finish_and_usage() {
        let answer = ChatAnswer {
            text: "Hi".into(),
            input_tokens: 3,
            output_tokens: 1,
            finish_reason: Some("end_turn".into()),
        };
        assert_eq!(
            answer_events(answer).collect::<Vec<_>>().await,
            answered(&["Hi"], "stop", (3, 1))
        );
    }

    #[tokio::test]
    async fn a_stream_that_goes_quiet_ends_with_a_timeout() {
        let quiet = futures::stream::iter([Ok(StreamEvent::Text("a".into()))])
            .chain(futures::stream::pending())
            .boxed();
        let started = Instant::now();
        let events: Vec<_> = with_idle_timeout(quiet, Duration::from_millis(50))
            .collect()
            .await;
        assert_eq!(
            events,
            [
                Ok(StreamEvent::Text("a".into())),
                Err(ProviderError::Timeout)
            ]
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn anthropic_finish_reasons_get_openai_words() {
        let words: Vec<String> = [
            "end_turn",
            "stop_sequence",
            "max_tokens",
            "tool_use",
            "stop",
        ]
        .into_iter()
        .map(openai_finish_reason)
        .collect();
        assert_eq!(words, ["stop", "stop", "length", "tool_calls", "stop"]);
    }
}
