//! What the owner sees of their visitors: page views, PDF downloads and the sites visitors came
//! from, counted in memory and written in batches.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::http::{HeaderMap, header};
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::public_cvs::{self, DailyCount, PublishedCv};

/// Page views, and the sites they came from, counted in memory and written in one statement
/// each every [`PageViews::FLUSH_EVERY`]: a page view costs no query of its own, and many views
/// of one CV do not queue on its row's lock. A failed write, or a process that stops between two
/// writes, costs counts, never pages.
#[derive(Clone, Default)]
pub struct PageViews(Arc<Mutex<Counts>>);

#[derive(Default)]
struct Counts {
    per_cv: HashMap<(Uuid, Uuid), DailyCount>,
    referrers: HashMap<(Uuid, Uuid, String), i32>,
}

/// The most referring sites kept per flush, so a flood of forged `Referer`s cannot grow memory
/// without bound; the rest of that flush's referrers are not counted.
const MAX_REFERRERS: usize = 10_000;

impl PageViews {
    const FLUSH_EVERY: Duration = Duration::from_millis(200);

    pub fn count_view(&self, cv: &PublishedCv, referrer: Option<String>) {
        let mut counts = self.lock();
        counts.of(cv).views += 1;
        if let Some(host) = referrer {
            let key = (cv.owner_id, cv.cv_id, host);
            if counts.referrers.len() < MAX_REFERRERS || counts.referrers.contains_key(&key) {
                *counts.referrers.entry(key).or_default() += 1;
            }
        }
    }

    pub fn count_pdf_download(&self, cv: &PublishedCv) {
        self.lock().of(cv).pdf_downloads += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the counts out for as long as the process runs.
    pub fn flush_periodically(&self, db: PgPool) {
        let counts = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Self::FLUSH_EVERY);
            loop {
                ticks.tick().await;
                let taken = std::mem::take(&mut *counts.lock());
                taken.write(&db).await;
            }
        });
    }
}

impl Counts {
    fn of(&mut self, cv: &PublishedCv) -> &mut DailyCount {
        self.per_cv.entry((cv.owner_id, cv.cv_id)).or_default()
    }

    async fn write(self, db: &PgPool) {
        let per_cv: Vec<_> = self
            .per_cv
            .into_iter()
            .map(|((owner_id, cv_id), count)| (owner_id, cv_id, count))
            .collect();
        if !per_cv.is_empty()
            && let Err(error) = public_cvs::count_views(db, &per_cv).await
        {
            tracing::warn!(%error, "cannot count CV views");
        }
        let referrers: Vec<_> = self
            .referrers
            .into_iter()
            .map(|((owner_id, cv_id, host), count)| (owner_id, cv_id, host, count))
            .collect();
        if !referrers.is_empty()
            && let Err(error) = public_cvs::count_referrers(db, &referrers).await
        {
            tracing::warn!(%error, "cannot count CV referrers");
        }
    }
}

/// The host name of the site a visitor came from, if it is another site's web page: never the
/// rest of the address. Our own pages (the app and every CV host) are not referrers.
pub fn referring_host(headers: &HeaderMap, base_domain: &str) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let url = reqwest::Url::parse(referer).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let ours = host == base_domain || host.ends_with(&format!(".{base_domain}"));
    (!ours && !host.is_empty() && host.len() <= 253).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_other_sites_host_names_are_referrers() {
        let from = |referer: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::REFERER, referer.parse().unwrap());
            referring_host(&headers, "txtcv.dev")
        };
        let linkedin = from("https://www.LinkedIn.com/in/ada?trk=x#top");
        assert_eq!(
            linkedin.as_deref(),
            Some("www.linkedin.com"),
            "the host only"
        );
        assert_eq!(from("https://txtcv.dev/dashboard"), None);
        assert_eq!(from("http://bob.txtcv.dev/"), None);
        assert_eq!(from("android-app://com.slack"), None);
        assert_eq!(from("not a url"), None);
    }
}
