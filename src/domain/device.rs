//! A browser and its system in a few words ("Firefox on Linux"), read from a `User-Agent`, so a
//! member can tell their sessions apart. Only the summary is ever shown or logged.

/// Whether `user_agent` says it is a crawler or a link-preview fetcher, not a person: a
/// share link's opens leave those out. Only the obvious ones; a bot that poses as a browser
/// is counted.
pub fn is_bot(user_agent: &str) -> bool {
    const MARKS: [&str; 8] = [
        "bot",
        "crawl",
        "spider",
        "slurp",
        "preview",
        "facebookexternalhit",
        "curl/",
        "wget/",
    ];
    let lower = user_agent.to_ascii_lowercase();
    MARKS.iter().any(|mark| lower.contains(mark))
}

/// The summary of `user_agent`, or `None` when it names nothing we recognise.
pub fn describe(user_agent: &str) -> Option<String> {
    let browser = browser(user_agent);
    let system = system(user_agent);
    match (browser, system) {
        (Some(browser), Some(system)) => Some(format!("{browser} on {system}")),
        (Some(only), None) | (None, Some(only)) => Some(only.to_owned()),
        (None, None) => None,
    }
}

// Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", and the command-line
// clients say nothing else.
fn browser(ua: &str) -> Option<&'static str> {
    const BROWSERS: [(&str, &str); 10] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("HeadlessChrome/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
        ("txtcv", "the txtcv CLI"),
    ];
    BROWSERS
        .iter()
        .find(|(marker, _)| ua.contains(marker))
        .map(|&(_, name)| name)
}

fn system(ua: &str) -> Option<&'static str> {
    const SYSTEMS: [(&str, &str); 7] = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    SYSTEMS
        .iter()
        .find(|(marker, _)| ua.contains(marker))
        .map(|&(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::{describe, is_bot};

    #[test]
    fn obvious_bots_are_told_from_browsers() {
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "facebookexternalhit/1.1",
            "curl/8.5.0",
        ] {
            assert!(is_bot(bot), "{bot}");
        }
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert!(!is_bot(firefox));
    }

    #[test]
    fn names_the_browser_and_the_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "curl"),
        ];
        for (ua, expected) in cases {
            assert_eq!(describe(ua).as_deref(), Some(expected), "{ua}");
        }
    }

    #[test]
    fn says_nothing_of_what_it_does_not_know() {
        assert_eq!(describe(""), None);
        assert_eq!(describe("SomethingElse/1.0"), None);
    }
}
