//! The sink, driven line by line over TCP as a client would.

use super::*;

/// A scripted client: sends a line, returns the sink's complete reply.
struct Client(Lines);

impl Client {
    async fn connect(sink: &SmtpSink) -> Self {
        let mut c = Self(BufReader::new(TcpStream::connect(sink.addr).await.unwrap()));
        assert!(c.reply().await.starts_with("220 "));
        c
    }

    /// Every line of one reply, the last one being `code text`.
    async fn reply(&mut self) -> String {
        let mut all = Vec::new();
        loop {
            let l = line(&mut self.0).await.unwrap().expect("a reply");
            let last = l.as_bytes().get(3) != Some(&b'-');
            all.push(l);
            if last {
                return all.join("\n");
            }
        }
    }

    async fn say(&mut self, text: &str) -> String {
        reply(&mut self.0, text).await.unwrap();
        self.reply().await
    }
}

#[tokio::test]
async fn a_message_is_recorded_with_its_envelope_and_dot_unstuffed() {
    let sink = SmtpSink::builder()
        .reject_recipient("gone@lead.example")
        .defer_recipient("busy@lead.example")
        .start()
        .await;
    let mut c = Client::connect(&sink).await;

    assert!(
        c.say("MAIL FROM:<a@x.example>").await.starts_with("503"),
        "EHLO first"
    );
    let ehlo = c.say("EHLO client.example").await;
    assert!(
        ehlo.contains("250-8BITMIME") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    assert!(
        c.say("RCPT TO:<pat@lead.example>").await.starts_with("503"),
        "MAIL first"
    );
    assert!(
        c.say("MAIL FROM:<sales@dealer.example> BODY=8BITMIME")
            .await
            .starts_with("250")
    );
    assert!(
        c.say("RCPT TO:<gone@lead.example>")
            .await
            .starts_with("550 5.1.1")
    );
    assert!(
        c.say("RCPT TO:<Busy@lead.example>")
            .await
            .starts_with("450 4.2.1")
    );
    assert!(c.say("RCPT TO:<pat@lead.example>").await.starts_with("250"));
    assert!(c.say("NOOP").await.starts_with("250"));
    assert!(c.say("DATA").await.starts_with("354"));
    let body = "Subject: Hi\r\n X folded\r\n\r\nline one\r\n..leading dot\r\n.";
    assert!(c.say(body).await.starts_with("250 2.0.0 Ok: queued as 1"));

    // RSET drops a transaction: nothing recorded without DATA.
    c.say("MAIL FROM:<b@x.example>").await;
    c.say("RCPT TO:<c@x.example>").await;
    assert!(c.say("RSET").await.starts_with("250"));
    assert!(c.say("DATA").await.starts_with("503"));
    assert!(c.say("VRFY pat").await.starts_with("502"));
    assert!(c.say("QUIT").await.starts_with("221"));

    let mail = sink.messages();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].from, "sales@dealer.example");
    assert_eq!(mail[0].recipients, ["pat@lead.example"]);
    assert_eq!(mail[0].header("subject").as_deref(), Some("Hi X folded"));
    assert!(
        mail[0].data.ends_with("\r\n\r\nline one\r\n.leading dot"),
        "{:?}",
        mail[0].data
    );
    assert_eq!(mail[0].user, None);
}

#[tokio::test]
async fn plain_and_login_authenticate_only_the_configured_user() {
    let sink = SmtpSink::builder().login("bdc", "s3cret").start().await;
    let b64 = |s: &str| BASE64.encode(s);

    let mut c = Client::connect(&sink).await;
    assert!(c.say("EHLO c").await.contains("250-AUTH PLAIN LOGIN"));
    assert!(c.say("MAIL FROM:<a@x.example>").await.starts_with("530"));
    let wrong = format!("AUTH PLAIN {}", b64("\0bdc\0guess"));
    assert!(c.say(&wrong).await.starts_with("535 5.7.8"));
    assert!(c.say("AUTH PLAIN").await.starts_with("334"));
    assert!(c.say(&b64("\0bdc\0s3cret")).await.starts_with("235"));
    assert!(c.say("MAIL FROM:<a@x.example>").await.starts_with("250"));

    let mut c = Client::connect(&sink).await;
    c.say("HELO c").await;
    assert_eq!(
        c.say("AUTH LOGIN").await,
        format!("334 {}", b64("Username:"))
    );
    assert_eq!(
        c.say(&b64("bdc")).await,
        format!("334 {}", b64("Password:"))
    );
    assert!(c.say(&b64("s3cret")).await.starts_with("235"));
    c.say("MAIL FROM:<a@x.example>").await;
    c.say("RCPT TO:<b@x.example>").await;
    c.say("DATA").await;
    c.say("Subject: x\r\n\r\nhi\r\n.").await;
    assert!(
        c.say("AUTH CRAM-MD5").await.starts_with("503"),
        "already in"
    );

    assert_eq!(sink.failed_logins(), 1);
    assert_eq!(sink.messages()[0].user.as_deref(), Some("bdc"));
}
