//! A local SMTP server that accepts mail and keeps it for assertions: enough of RFC 5321 for a
//! real client (EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA with dot-unstuffing, RSET,
//! NOOP, QUIT). Plain TCP only: STARTTLS and implicit TLS are not offered, so only `tls: none`
//! credentials can reach it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// One message the sink accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`) the sink accepted, in order.
    pub recipients: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, lines joined with CRLF.
    pub data: String,
    /// The user the client logged in as, if it did.
    pub user: Option<String>,
}

impl ReceivedMail {
    /// Every value of header `name` (case-insensitive), unfolded.
    pub fn headers(&self, name: &str) -> Vec<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match unfolded.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
                _ => unfolded.push(line.to_owned()),
            }
        }
        unfolded
            .iter()
            .filter_map(|h| h.split_once(':'))
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers(name).into_iter().next()
    }
}

/// How the sink behaves: see [`SmtpSink::builder`].
#[derive(Clone, Debug, Default)]
pub struct SmtpSinkBuilder {
    login: Option<(String, String)>,
    rejected: Vec<String>,
    deferred: Vec<String>,
}

impl SmtpSinkBuilder {
    /// Offers AUTH PLAIN and LOGIN, accepts only this user and password (535 otherwise) and
    /// refuses mail before a login (530).
    pub fn login(mut self, user: &str, password: &str) -> Self {
        self.login = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Refuses this recipient for good: `550` to its `RCPT TO`.
    pub fn reject_recipient(mut self, address: &str) -> Self {
        self.rejected.push(address.to_ascii_lowercase());
        self
    }

    /// Refuses this recipient for now: `450` to its `RCPT TO`.
    pub fn defer_recipient(mut self, address: &str) -> Self {
        self.deferred.push(address.to_ascii_lowercase());
        self
    }

    /// Listens on 127.0.0.1 and a free port until the sink is dropped.
    pub async fn start(self) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            config: self,
            mail: Mutex::default(),
            failed_logins: Mutex::default(),
        });
        let (s, state) = (stop.clone(), shared.clone());
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    () = s.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => continue,
                    },
                };
                let state = state.clone();
                let s = s.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = s.cancelled() => {}
                        _ = Session::new(&state).serve(stream) => {}
                    }
                });
            }
        });
        SmtpSink { addr, shared, stop }
    }
}

/// A running sink. Each test starts its own.
pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl SmtpSink {
    /// A sink that takes mail from anyone, for any recipient.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn builder() -> SmtpSinkBuilder {
        SmtpSinkBuilder::default()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The `data` of an `smtp` credential for this sink (`tls: none`), with the login if given.
    pub fn credential(&self, login: Option<(&str, &str)>) -> serde_json::Value {
        let mut data = serde_json::json!({"host": "127.0.0.1", "port": self.port(), "tls": "none"});
        if let Some((user, password)) = login {
            data["username"] = user.into();
            data["password"] = password.into();
        }
        data
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.mail.lock().expect("sink lock").clone()
    }

    /// How many logins were refused with 535.
    pub fn failed_logins(&self) -> usize {
        *self.shared.failed_logins.lock().expect("sink lock")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Shared {
    config: SmtpSinkBuilder,
    mail: Mutex<Vec<ReceivedMail>>,
    failed_logins: Mutex<usize>,
}

/// One connection's state.
struct Session<'a> {
    shared: &'a Shared,
    greeted: bool,
    user: Option<String>,
    from: Option<String>,
    recipients: Vec<String>,
}

type Lines = BufReader<TcpStream>;

/// A reply is `code text`; several lines are `code-text` but the last.
async fn reply(io: &mut Lines, text: &str) -> std::io::Result<()> {
    io.get_mut()
        .write_all(format!("{text}\r\n").as_bytes())
        .await
}

/// The next line without its CRLF; `None` at end of stream.
async fn line(io: &mut Lines) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    if io.read_until(b'\n', &mut buf).await? == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// Sends a `334` challenge and answers the client's reply line.
async fn challenge(io: &mut Lines, prompt: &str) -> std::io::Result<String> {
    reply(io, &format!("334 {prompt}")).await?;
    Ok(line(io).await?.unwrap_or_default())
}

/// The address in `FROM:<a@b> BODY=8BITMIME` (after the verb's `:`).
fn path(arg: &str) -> Option<String> {
    let (_, rest) = arg.split_once(':')?;
    let rest = rest.trim_start();
    let inner = rest.strip_prefix('<')?.split('>').next()?;
    Some(inner.to_owned())
}

fn decode(b64: &str) -> String {
    BASE64
        .decode(b64.trim())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

impl<'a> Session<'a> {
    fn new(shared: &'a Shared) -> Self {
        Self {
            shared,
            greeted: false,
            user: None,
            from: None,
            recipients: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.from = None;
        self.recipients.clear();
    }

    async fn serve(mut self, stream: TcpStream) -> std::io::Result<()> {
        let mut io = BufReader::new(stream);
        reply(&mut io, "220 sink.automatrix.test ESMTP testkit").await?;
        while let Some(command) = line(&mut io).await? {
            let (verb, arg) = command.split_once(' ').unwrap_or((command.as_str(), ""));
            let verb = verb.to_ascii_uppercase();
            let answer = match verb.as_str() {
                "EHLO" => {
                    self.greeted = true;
                    self.reset();
                    let auth = if self.shared.config.login.is_some() {
                        "250-AUTH PLAIN LOGIN\r\n"
                    } else {
                        ""
                    };
                    format!("250-sink.automatrix.test\r\n{auth}250-8BITMIME\r\n250 SIZE 10485760")
                }
                "HELO" => {
                    self.greeted = true;
                    self.reset();
                    "250 sink.automatrix.test".to_owned()
                }
                "AUTH" => self.auth(&mut io, arg).await?,
                "MAIL" => self.mail(arg),
                "RCPT" => self.rcpt(arg),
                "DATA" if self.recipients.is_empty() => "503 5.5.1 Need RCPT first".to_owned(),
                "DATA" => {
                    reply(&mut io, "354 End data with <CR><LF>.<CR><LF>").await?;
                    self.data(&mut io).await?
                }
                "RSET" => {
                    self.reset();
                    "250 2.0.0 Ok".to_owned()
                }
                "NOOP" => "250 2.0.0 Ok".to_owned(),
                "QUIT" => {
                    reply(&mut io, "221 2.0.0 Bye").await?;
                    return Ok(());
                }
                _ => "502 5.5.2 Command not recognized".to_owned(),
            };
            reply(&mut io, &answer).await?;
        }
        Ok(())
    }

    async fn auth(&mut self, io: &mut Lines, arg: &str) -> std::io::Result<String> {
        let Some((user, password)) = self.shared.config.login.clone() else {
            return Ok("502 5.5.1 AUTH not offered".to_owned());
        };
        if self.user.is_some() {
            return Ok("503 5.5.1 Already authenticated".to_owned());
        }
        let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
        let (given_user, given_password) = match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => {
                let response = if initial.is_empty() {
                    challenge(io, "").await?
                } else {
                    initial.to_owned()
                };
                // authorization identity \0 user \0 password
                let decoded = decode(&response);
                let mut parts = decoded.split('\0').skip(1);
                (
                    parts.next().unwrap_or_default().to_owned(),
                    parts.next().unwrap_or_default().to_owned(),
                )
            }
            "LOGIN" => {
                let u = if initial.is_empty() {
                    challenge(io, &BASE64.encode("Username:")).await?
                } else {
                    initial.to_owned()
                };
                let p = challenge(io, &BASE64.encode("Password:")).await?;
                (decode(&u), decode(&p))
            }
            _ => return Ok("504 5.5.4 Unrecognized authentication type".to_owned()),
        };
        if given_user == user && given_password == password {
            self.user = Some(given_user);
            Ok("235 2.7.0 Authentication successful".to_owned())
        } else {
            *self.shared.failed_logins.lock().expect("sink lock") += 1;
            Ok("535 5.7.8 Authentication credentials invalid".to_owned())
        }
    }

    fn mail(&mut self, arg: &str) -> String {
        if !self.greeted {
            return "503 5.5.1 Say EHLO first".to_owned();
        }
        if self.shared.config.login.is_some() && self.user.is_none() {
            return "530 5.7.0 Authentication required".to_owned();
        }
        match path(arg) {
            Some(from) => {
                self.reset();
                self.from = Some(from);
                "250 2.1.0 Ok".to_owned()
            }
            None => "501 5.5.4 Syntax: MAIL FROM:<address>".to_owned(),
        }
    }

    fn rcpt(&mut self, arg: &str) -> String {
        if self.from.is_none() {
            return "503 5.5.1 Need MAIL first".to_owned();
        }
        let Some(to) = path(arg) else {
            return "501 5.5.4 Syntax: RCPT TO:<address>".to_owned();
        };
        let lower = to.to_ascii_lowercase();
        if self.shared.config.rejected.contains(&lower) {
            format!("550 5.1.1 <{to}>: Recipient address rejected: User unknown")
        } else if self.shared.config.deferred.contains(&lower) {
            format!("450 4.2.1 <{to}>: Mailbox temporarily unavailable")
        } else {
            self.recipients.push(to);
            "250 2.1.5 Ok".to_owned()
        }
    }

    /// Reads the message up to the lone `.`, records it and answers.
    async fn data(&mut self, io: &mut Lines) -> std::io::Result<String> {
        let mut lines = Vec::new();
        loop {
            let Some(l) = line(io).await? else {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            };
            if l == "." {
                break;
            }
            // RFC 5321 4.5.2: a leading dot was doubled by the client.
            lines.push(l.strip_prefix('.').map(str::to_owned).unwrap_or(l));
        }
        let mail = ReceivedMail {
            from: self.from.take().unwrap_or_default(),
            recipients: std::mem::take(&mut self.recipients),
            data: lines.join("\r\n"),
            user: self.user.clone(),
        };
        let mut all = self.shared.mail.lock().expect("sink lock");
        all.push(mail);
        Ok(format!("250 2.0.0 Ok: queued as {}", all.len()))
    }
}

#[cfg(test)]
mod tests;
