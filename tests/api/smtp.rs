//! A real SMTP server for the tests, on 127.0.0.1: it keeps every message it accepts, and can be
//! told to refuse (4xx, 5xx) or to be down, to see what the mail job does then.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// How the server answers the end of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Accept,
    /// `451`: try again later.
    Busy,
    /// `550`: never.
    Refuse,
}

/// One message as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub to: String,
    /// The message as sent, with quoted-printable line breaks joined again.
    pub data: String,
}

impl Received {
    pub fn subject(&self) -> &str {
        self.data
            .lines()
            .find_map(|line| line.strip_prefix("Subject: "))
            .unwrap_or_default()
    }

    /// The path of the first link in the message whose path starts with `path`.
    pub fn link(&self, path: &str) -> Option<String> {
        let start = self.data.find(path)?;
        let rest = &self.data[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }
}

pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<Answer>>,
    accepting: Option<JoinHandle<()>>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A port nothing listens on yet, for a server that starts later with [`Self::start_on`].
    pub async fn free_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    /// A server on `port` (0: any free one).
    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let mut server = Self {
            port: listener.local_addr().unwrap().port(),
            received: Arc::default(),
            answer: Arc::new(Mutex::new(Answer::Accept)),
            accepting: None,
        };
        server.serve(listener);
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn answer_with(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` messages have arrived (at most ten seconds), and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            if self.received.lock().unwrap().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let received = self.received();
        assert!(
            received.len() >= count,
            "expected {count} mails, got {}: {received:?}",
            received.len()
        );
        received
    }

    /// The newest message to `to` about `subject`, waiting for it if need be.
    pub async fn last_to(&self, to: &str, subject: &str) -> Received {
        for _ in 0..200 {
            let newest = self
                .received()
                .into_iter()
                .rev()
                .find(|m| m.to == to && m.subject() == subject);
            if let Some(mail) = newest {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {to} about {subject}: {:?}", self.received());
    }

    fn serve(&mut self, listener: TcpListener) {
        let (received, answer) = (self.received.clone(), self.answer.clone());
        self.accepting = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (received, answer) = (received.clone(), answer.clone());
                tokio::spawn(async move {
                    let _ = session(stream, received, answer).await;
                });
            }
        }));
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(accepting) = self.accepting.take() {
            accepting.abort();
        }
    }
}

async fn session(
    stream: TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<Answer>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 test-smtp ready\r\n").await?;
    let mut to = String::new();
    while let Some(line) = lines.next_line().await? {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250-test-smtp\r\n250 8BITMIME\r\n"
        } else if command.starts_with("RCPT TO:") {
            to = line[8..].trim().trim_matches(['<', '>']).to_owned();
            b"250 OK\r\n"
        } else if command == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push('\n');
            }
            let data = data.replace("=\n", "");
            match *answer.lock().unwrap() {
                Answer::Accept => {
                    received.lock().unwrap().push(Received {
                        to: to.clone(),
                        data,
                    });
                    b"250 OK queued\r\n"
                }
                Answer::Busy => b"451 4.3.0 try again later\r\n",
                Answer::Refuse => b"550 5.1.1 no such mailbox\r\n",
            }
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
