//! Server-sent events (the `text/event-stream` format of the WHATWG HTML standard): a parser
//! that takes the body in chunks cut anywhere, and the driver that turns a provider's events
//! into [`StreamEvent`]s with the provider's [`Decoder`].

use std::collections::VecDeque;

use futures::{Stream, StreamExt};
use reqwest::RequestBuilder;
use reqwest::header::CONTENT_TYPE;

use crate::http;
use crate::provider::ProviderError;
use crate::stream::{EventStream, StreamEvent};

/// The UTF-8 byte-order mark a stream may open with.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One event: its `event:` name, if it has one, and its `data:` lines joined with `\n`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Frame {
    pub event: Option<String>,
    pub data: String,
}

/// Reads frames from chunks of a body. Lines end with LF, CRLF or CR; a blank line ends a
/// frame; lines starting with `:` are comments; `id:` and `retry:` are ignored. A frame
/// without `data:` lines is not dispatched, as the standard says.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    /// Bytes of a line not yet ended (possibly cut inside a UTF-8 character).
    pending: Vec<u8>,
    /// Whether the byte-order mark check is done.
    started: bool,
    /// The last chunk ended with a CR.
    after_cr: bool,
    event: Option<String>,
    data: Option<String>,
}

impl Parser {
    /// The frames completed by `chunk`.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        self.pending.extend_from_slice(chunk);
        if !self.started {
            // A byte-order mark may open the stream; wait until there are bytes to tell.
            if self.pending.len() < 3 && BOM.starts_with(&self.pending) {
                return Vec::new();
            }
            if self.pending.starts_with(BOM) {
                self.pending.drain(..BOM.len());
            }
            self.started = true;
        }
        let mut start = 0;
        if self.after_cr && !self.pending.is_empty() {
            // The last chunk ended with a CR: a LF now is the rest of a CRLF.
            start = usize::from(self.pending[0] == b'\n');
            self.after_cr = false;
        }
        let mut frames = Vec::new();
        while let Some(at) = self.pending[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = start + at;
            let next = match (self.pending[end], self.pending.get(end + 1)) {
                (b'\r', Some(b'\n')) => end + 2,
                (b'\r', None) => {
                    self.after_cr = true;
                    end + 1
                }
                _ => end + 1,
            };
            let line = String::from_utf8_lossy(&self.pending[start..end]).into_owned();
            frames.extend(self.line(&line));
            start = next;
        }
        self.pending.drain(..start);
        frames
    }

    fn line(&mut self, line: &str) -> Option<Frame> {
        if line.is_empty() {
            let event = self.event.take();
            let mut data = self.data.take()?;
            data.pop(); // the `\n` after the last data line
            return Some(Frame { event, data });
        }
        let (field, value) = match line.split_once(':') {
            Some(("", _)) => return None, // a comment
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                let data = self.data.get_or_insert_default();
                data.push_str(value);
                data.push('\n');
            }
            "event" => self.event = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}

/// What a provider makes of its events.
pub(crate) trait Decoder: Send + 'static {
    /// Appends the events `frame` carries to `out`; `true` when the answer is complete (the
    /// stream's end marker).
    fn decode(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError>;
}

/// Sends `request` and, once a 2xx answer's headers are in, returns its events as `decoder`
/// reads them. Failures before that are classed as [`http::exchange`] classes them; a 2xx
/// that is not `text/event-stream` (a server that ignored `stream: true`) is `Malformed`.
pub(crate) async fn open(
    request: RequestBuilder,
    secret: Option<&str>,
    decoder: impl Decoder,
) -> Result<EventStream, ProviderError> {
    let response = http::open(request, secret).await?;
    // A server that sends no type is given the benefit of the doubt.
    let kind = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase());
    if let Some(kind) = kind.filter(|k| !k.trim_start().starts_with("text/event-stream")) {
        return Err(ProviderError::Malformed(format!(
            "not an event stream ({kind})"
        )));
    }
    Ok(decode(response.bytes_stream(), decoder, http::transport))
}

/// The events of `body` as `decoder` reads them. An `Err` item is the last one: a body that
/// fails, an event the decoder refuses, or a body that ends before the end marker
/// (`Malformed`). After the end marker the rest of the body is not read.
pub(crate) fn decode<B, E>(
    body: impl Stream<Item = Result<B, E>> + Send + 'static,
    decoder: impl Decoder,
    error: impl Fn(E) -> ProviderError + Send + 'static,
) -> EventStream
where
    B: AsRef<[u8]>,
{
    let state = State {
        body: Box::pin(body),
        parser: Parser::default(),
        decoder,
        error,
        ready: VecDeque::new(),
        over: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(item) = s.ready.pop_front() {
                return Some((item, s));
            }
            if s.over {
                return None;
            }
            match s.body.next().await {
                Some(Ok(chunk)) => s.chunk(chunk.as_ref()),
                Some(Err(e)) => s.fail((s.error)(e)),
                None => s.fail(ProviderError::Malformed("the stream ended early".into())),
            }
        }
    })
    .boxed()
}

struct State<S, D, F> {
    body: std::pin::Pin<Box<S>>,
    parser: Parser,
    decoder: D,
    error: F,
    ready: VecDeque<Result<StreamEvent, ProviderError>>,
    /// Nothing more is read once `ready` is empty.
    over: bool,
}

impl<S, D: Decoder, F> State<S, D, F> {
    fn chunk(&mut self, chunk: &[u8]) {
        let mut out = Vec::new();
        for frame in self.parser.push(chunk) {
            let done = self.decoder.decode(&frame, &mut out);
            self.ready.extend(out.drain(..).map(Ok));
            match done {
                Ok(false) => {}
                Ok(true) => {
                    self.over = true;
                    return;
                }
                Err(e) => return self.fail(e),
            }
        }
    }

    fn fail(&mut self, error: ProviderError) {
        self.ready.push_back(Err(error));
        self.over = true;
    }
}

/// The events `decoder` makes of a body sent in `chunks` (tests).
#[cfg(test)]
pub(crate) async fn decode_chunks(
    chunks: &[&str],
    decoder: impl Decoder,
) -> Vec<Result<StreamEvent, ProviderError>> {
    let chunks: Vec<Result<Vec<u8>, ()>> = chunks.iter().map(|c| Ok(c.as_bytes().into())).collect();
    let body = futures::stream::iter(chunks);
    decode(body, decoder, |()| ProviderError::Connect)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(event: Option<&str>, data: &str) -> Frame {
        Frame {
            event: event.map(str::to_owned),
            data: data.into(),
        }
    }

    /// The frames of `body` fed in pieces of `size` bytes.
    fn split(body: &[u8], size: usize) -> Vec<Frame> {
        let mut p = Parser::default();
        body.chunks(size).flat_map(|c| p.push(c)).collect()
    }

    const BODY: &str = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: one\ndata: two\n\nid: 7\nretry: 10\ndata:  lead\n\n";

    #[test]
    fn frames_are_the_same_whatever_the_chunk_boundaries() {
        let expected = vec![
            frame(Some("message_start"), "{\"a\":1}"),
            frame(None, "one\ntwo"),
            frame(None, " lead"),
        ];
        for size in 1..=BODY.len() {
            assert_eq!(split(BODY.as_bytes(), size), expected, "chunks of {size}");
        }
    }

    #[test]
    fn crlf_and_cr_end_lines_too() {
        let crlf = BODY.replace('\n', "\r\n");
        let cr = BODY.replace('\n', "\r");
        for size in 1..=crlf.len() {
            assert_eq!(
                split(crlf.as_bytes(), size),
                split(BODY.as_bytes(), 1000),
                "chunks of {size}"
            );
            assert_eq!(split(cr.as_bytes(), size), split(BODY.as_bytes(), 1000));
        }
    }

    #[test]
    fn comments_empty_frames_and_unfinished_frames_dispatch_nothing() {
        let mut p = Parser::default();
        assert!(p.push(b":ping\n\n\n\nevent: lonely\n\n").is_empty());
        // The lonely event name does not leak into the next frame.
        assert_eq!(p.push(b"data\n\n"), [frame(None, "")]);
        assert!(p.push(b"data: cut off").is_empty());
        assert_eq!(p.push(b"\n\n"), [frame(None, "cut off")]);
    }

    #[test]
    fn a_character_cut_between_chunks_and_a_byte_order_mark_are_read_right() {
        let body = "\u{feff}data: caf\u{e9} \u{1f697}\n\n".as_bytes();
        for size in 1..=body.len() {
            assert_eq!(split(body, size), [frame(None, "caf\u{e9} \u{1f697}")]);
        }
    }

    /// Text per frame; `[end]` ends the answer, `bad` is refused.
    struct Words;

    impl Decoder for Words {
        fn decode(&mut self, f: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError> {
            match f.data.as_str() {
                "[end]" => Ok(true),
                "bad" => Err(ProviderError::Malformed("bad".into())),
                text => {
                    out.push(StreamEvent::Text(text.into()));
                    Ok(false)
                }
            }
        }
    }

    async fn run(chunks: &[&str]) -> Vec<Result<StreamEvent, ProviderError>> {
        decode_chunks(chunks, Words).await
    }

    #[tokio::test]
    async fn the_end_marker_ends_the_stream_and_an_error_is_the_last_item() {
        let text = |t: &str| Ok(StreamEvent::Text(t.into()));
        assert_eq!(
            run(&["data: a\n\nda", "ta: b\n\ndata: [end]\n\ndata: after\n\n"]).await,
            [text("a"), text("b")]
        );
        assert_eq!(
            run(&["data: a\n\ndata: bad\n\ndata: c\n\n"]).await,
            [text("a"), Err(ProviderError::Malformed("bad".into()))]
        );
        assert_eq!(
            run(&["data: a\n\n"]).await,
            [
                text("a"),
                Err(ProviderError::Malformed("the stream ended early".into()))
            ]
        );
        let failing = futures::stream::iter([Ok(&b"data: a\n\n"[..]), Err(())]);
        assert_eq!(
            decode(failing, Words, |()| ProviderError::Connect)
                .collect::<Vec<_>>()
                .await,
            [text("a"), Err(ProviderError::Connect)]
        );
    }
}
