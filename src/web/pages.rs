//! The landing page and the signed-in home.

use askama::Template;
use axum::{Router, extract::State, http::HeaderMap, response::Html, routing::get};

use super::{
    current_user::CurrentUser,
    error::AppError,
    layout::Layout,
    resume::{self, CvStatus},
    share_links::{self, ShareLinkView},
};
use crate::{
    state::AppState,
    store::{cvs, moderation, public_cvs, public_cvs::DailyCount, users::User},
};

/// How far back the dashboard's chart of public views goes.
const VIEW_DAYS: i32 = 30;
/// Referring sites the dashboard names.
const TOP_REFERRERS: i64 = 5;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/dashboard", get(dashboard))
}

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    layout: Layout,
}

async fn landing(layout: Layout) -> Result<Html<String>, AppError> {
    Ok(Html(LandingPage { layout }.render()?))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    user: User,
    status: CvStatus,
    /// Why a moderator took the CV off the public web, until the owner publishes again.
    moderation_note: Option<String>,
    views: Vec<DayBar>,
    total_views: i64,
    /// PDFs downloaded from the public address over the same days.
    total_pdf_downloads: i64,
    /// The sites that sent the most visitors over the same days, with their counts.
    referrers: Vec<(String, i64)>,
    /// The CV's private links, with their opens and downloads.
    share_links: Vec<ShareLinkView>,
}

/// One day of the views chart: its height as one of 11 steps (CSS classes `h-0` … `h-10`,
/// since the CSP forbids inline styles) and its words for a tooltip.
struct DayBar {
    step: u64,
    label: String,
}

async fn dashboard(
    State(state): State<AppState>,
    layout: Layout,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    let (cv, latest) = resume::current(&state, &user).await?;
    let status = CvStatus::new(&state, &user, &headers, cv.as_ref(), latest.as_ref());
    let (days, referrers, share_links) = match &cv {
        Some(cv) => (
            cvs::daily_views(&state.db, user.id, cv.id, VIEW_DAYS).await?,
            public_cvs::top_referrers(&state.db, user.id, cv.id, VIEW_DAYS, TOP_REFERRERS).await?,
            share_links::of(&state, cv, &user.username, &headers).await?,
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let total = |count: fn(&DailyCount) -> i32| -> i64 {
        days.iter().map(|(_, day)| i64::from(count(day))).sum()
    };
    let moderation_note = moderation::cv_state(&state.db, user.id)
        .await?
        .and_then(|cv| cv.moderation_note);
    let page = DashboardPage {
        layout,
        user,
        status,
        moderation_note,
        total_views: total(|day| day.views),
        total_pdf_downloads: total(|day| day.pdf_downloads),
        views: day_bars(&days),
        referrers,
        share_links,
    };
    Ok(Html(page.render()?))
}

fn day_bars(days: &[(time::Date, DailyCount)]) -> Vec<DayBar> {
    let count = |views: i32| u64::try_from(views).unwrap_or(0);
    let most = days
        .iter()
        .map(|(_, day)| count(day.views))
        .max()
        .unwrap_or(0)
        .max(1);
    days.iter()
        .map(|&(day, DailyCount { views, .. })| {
            let views = count(views);
            // Rounded up, so a day with any views never looks like a day with none.
            let step = (views * 10).div_ceil(most);
            let plural = if views == 1 { "view" } else { "views" };
            DayBar {
                step,
                label: format!("{day}: {views} {plural}"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day_and_never_hide_a_view() {
        let views = |views| DailyCount {
            views,
            pdf_downloads: 0,
        };
        let days = [
            (date!(2026 - 11 - 01), views(0)),
            (date!(2026 - 11 - 02), views(1)),
            (date!(2026 - 11 - 03), views(50)),
            (date!(2026 - 11 - 04), views(100)),
        ];
        let steps: Vec<u64> = day_bars(&days).iter().map(|bar| bar.step).collect();
        assert_eq!(steps, vec![0, 1, 5, 10]);
        assert_eq!(day_bars(&days)[1].label, "2026-11-02: 1 view");
    }
}
